// Writes dist/README.md, the page the .vsix carries (the Marketplace and the Extensions view show it): the
// project README's title, its introduction and its "Using the extension" section. The rest of README.md (protocol,
// server, tests, benchmarks) is for people working on BlindBox, not for people installing it; cut from one source,
// the two never disagree.
import { mkdir, readFile, writeFile } from 'node:fs/promises';

const readme = await readFile('README.md', 'utf8');
const sections = readme.split(/^(?=## )/m);
// The title and the first paragraph; the developer commands and set-up notes around them are not for users.
const intro = sections[0].replace(/```sh[\s\S]*?```\n*/, '').split(/\n\s*\n/).slice(0, 2).join('\n\n');
const usage = sections.find((s) => s.startsWith('## Using the extension'));
if (!usage) throw new Error('README.md has no "## Using the extension" section');
await mkdir('dist', { recursive: true });
await writeFile('dist/README.md', `${intro.trimEnd()}\n\n${usage.trimEnd()}\n`);
console.log(`dist/README.md: ${Buffer.byteLength(intro + usage)} bytes of ${Buffer.byteLength(readme)}`);
