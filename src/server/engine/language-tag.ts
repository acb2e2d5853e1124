/**
 * Whisper servers name the detected language in English ("english", "haitian creole"); transcripts carry a tag
 * ("en", "ht"). The names are the English names of ISO 639-1 codes, which ICU knows, plus a few of Whisper's own.
 */

/** Whisper's names that are not ICU's English name for the language. */
const WHISPER_ALIASES: Readonly<Record<string, string>> = { myanmar: 'my', nynorsk: 'nn', cantonese: 'yue', castilian: 'es', flemish: 'nl', valencian: 'ca', moldavian: 'ro', moldovan: 'ro', sinhalese: 'si', pushto: 'ps', panjabi: 'pa', letzeburgesch: 'lb', haitian: 'ht', hawaiian: 'haw' };

let byName: Map<string, string> | undefined;

function namesToTags(): Map<string, string> {
  const names = new Intl.DisplayNames(['en'], { type: 'language', fallback: 'none' });
  const map = new Map(Object.entries(WHISPER_ALIASES));
  const letters = 'abcdefghijklmnopqrstuvwxyz';
  for (const a of letters) {
    for (const b of letters) {
      const name = names.of(a + b)?.toLowerCase();
      if (name !== undefined && !map.has(name)) map.set(name, a + b);
    }
  }
  return map;
}

/** A language tag for `value`: looked up if it is a language's English name, else kept (it is a tag already). */
export function languageTag(value: string): string {
  byName ??= namesToTags();
  return byName.get(value.trim().toLowerCase()) ?? value.trim();
}
