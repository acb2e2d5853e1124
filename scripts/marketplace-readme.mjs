// Writes dist/README.md, the user part of README.md (scripts/user-readme.mjs), which `vsce package --readme-path` ships.
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { userReadme } from './user-readme.mjs';

const readme = await readFile('README.md', 'utf8');
const user = userReadme(readme);
await mkdir('dist', { recursive: true });
await writeFile('dist/README.md', user);
console.log(`dist/README.md: ${Buffer.byteLength(user)} bytes of ${Buffer.byteLength(readme)}`);
