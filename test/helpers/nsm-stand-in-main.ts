/**
 * The NSM stand-in as a process, for scripts (deploy/nitro/try-rootfs.sh):
 *   node out/test/helpers/nsm-stand-in-main.js <socket path> <root certificate file to write>
 * listens on the socket (what the preload library, test/native/build/libnsm-preload.so, connects /dev/nsm to), writes
 * the root its documents chain to, prints `ready` once both are there, and stops on SIGTERM or SIGINT.
 */
import { writeFile } from 'node:fs/promises';
import { NsmStandIn } from './nsm-stand-in.js';

const [socketPath, rootFile] = process.argv.slice(2);
if (socketPath === undefined || rootFile === undefined) {
  process.stderr.write('usage: nsm-stand-in-main.js <socket path> <root certificate file>\n');
  process.exit(2);
}
const nsm = await NsmStandIn.start(socketPath);
await writeFile(rootFile, nsm.rootPem);
process.stdout.write('ready\n');
for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  process.once(signal, () => void nsm.close().then(() => process.exit(0)));
}
