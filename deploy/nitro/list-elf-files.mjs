// Lists every ELF file under a root directory (regular files starting with \x7fELF, not following symbolic links
// or other file systems' mounts), as paths inside that root, NUL-separated: try-rootfs.sh checks each one's libraries.
import { lstatSync, openSync, readSync, closeSync, readdirSync } from 'node:fs';
import path from 'node:path';

const root = path.resolve(process.argv[2] ?? '.');
const device = lstatSync(root).dev;
const magic = Buffer.from([0x7f, 0x45, 0x4c, 0x46]);
const head = Buffer.alloc(4);

function isElf(file) {
  const fd = openSync(file, 'r');
  try {
    return readSync(fd, head, 0, 4, 0) === 4 && head.equals(magic);
  } finally {
    closeSync(fd);
  }
}

function walk(dir) {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const file = path.join(dir, entry.name);
    if (entry.isDirectory()) {
      if (lstatSync(file).dev === device) walk(file);
    } else if (entry.isFile() && isElf(file)) {
      process.stdout.write(`/${path.relative(root, file)}\0`);
    }
  }
}
walk(root);
