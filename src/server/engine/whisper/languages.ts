/**
 * From a request's `language` (a BCP 47 tag, `auto` or none) to the `language` whisper.cpp is sent. Every request
 * names one, `auto` included: whisper.cpp v1.7.6 keeps the previous request's language when a request names none.
 */
import { EngineError } from '../engine.js';
import { languageTag } from '../language-tag.js';

/** Whisper's languages (whisper.cpp's `g_lang`), as BCP 47 primary subtags. */
export const WHISPER_LANGUAGES: readonly string[] = [
  'en', 'zh', 'de', 'es', 'ru', 'ko', 'fr', 'ja', 'pt', 'tr', 'pl', 'ca', 'nl', 'ar', 'sv', 'it', 'id', 'hi', 'fi', 'vi',
  'he', 'uk', 'el', 'ms', 'cs', 'ro', 'da', 'hu', 'ta', 'no', 'th', 'ur', 'hr', 'bg', 'lt', 'la', 'mi', 'ml', 'cy', 'sk',
  'te', 'fa', 'lv', 'bn', 'sr', 'az', 'sl', 'kn', 'et', 'mk', 'br', 'eu', 'is', 'hy', 'ne', 'mn', 'bs', 'kk', 'sq', 'sw',
  'gl', 'mr', 'pa', 'si', 'km', 'sn', 'yo', 'so', 'af', 'oc', 'ka', 'be', 'tg', 'sd', 'gu', 'am', 'yi', 'lo', 'uz', 'fo',
  'ht', 'ps', 'tk', 'nn', 'mt', 'sa', 'lb', 'my', 'bo', 'tl', 'mg', 'as', 'tt', 'haw', 'ln', 'ha', 'ba', 'jv', 'su', 'yue',
];

/** BCP 47 primary subtags whose Whisper code differs: Javanese is `jw` in Whisper; Bokmål and Filipino go to `no`, `tl`. */
const WHISPER_CODES: Readonly<Record<string, string>> = { jv: 'jw', nb: 'no', fil: 'tl' };

/** The value that asks whisper.cpp to detect the language. */
export const DETECT = 'auto';

/**
 * The `language` to send whisper.cpp for `requested`: `auto` when none (or `auto`) is asked and the model can detect,
 * `en` for an English-only model. Throws `EngineError` `LANGUAGE_UNSUPPORTED` for a tag Whisper (or the model) lacks.
 */
export function whisperLanguage(requested: string | undefined, englishOnly: boolean): string {
  const asked = requested?.trim();
  if (!asked || asked.toLowerCase() === DETECT) return englishOnly ? 'en' : DETECT;
  // A language's English name ("French") is taken too, as whisper.cpp takes it.
  const primary = languageTag(asked).split('-')[0]!.toLowerCase();
  const known = primary in WHISPER_CODES || WHISPER_LANGUAGES.includes(primary);
  if (!known || (englishOnly && primary !== 'en')) {
    const which = englishOnly ? 'This English-only Whisper model transcribes English only' : 'Whisper does not transcribe this language';
    throw new EngineError('LANGUAGE_UNSUPPORTED', `${which}: ${JSON.stringify(asked.slice(0, 35))}; ask for ${englishOnly ? 'en' : 'a BCP 47 tag such as en, fr or pt-BR'}, or for no language.`);
  }
  return WHISPER_CODES[primary] ?? primary;
}
