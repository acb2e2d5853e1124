// The user part of README.md, the page the .vsix carries (the Marketplace and the Extensions view show it): the title,
// the introduction and the "Using the extension" section. The rest (protocol, server, tests, benchmarks) is for people
// working on BlindBox; cut from one source, the two never disagree. Pure, so the manifest test checks the same cut.

/** The user README cut from the project README's text. */
export function userReadme(readme) {
  const sections = readme.split(/^(?=## )/m);
  // The title and the first paragraph; the developer commands around them are not for users.
  const intro = sections[0].replace(/```sh[\s\S]*?```\n*/, '').split(/\n\s*\n/).slice(0, 2).join('\n\n');
  const usage = sections.find((s) => s.startsWith('## Using the extension\n'));
  if (!usage) throw new Error('README.md has no "## Using the extension" section');
  return `${intro.trimEnd()}\n\n${usage.trimEnd()}\n`;
}

/** The images a Markdown text shows (`![alt](target)`), in order. */
export function imageTargets(markdown) {
  return [...markdown.matchAll(/!\[[^\]]*\]\(([^)\s]+)[^)]*\)/g)].map((m) => m[1]);
}
