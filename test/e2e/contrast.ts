/**
 * WCAG 2 contrast, from colours as a browser's computed styles give them: `rgb()`/`rgba()` (and `#rgb[a]`/`#rrggbb[aa]`
 * for theme variables). The arithmetic is pure; `measureContrast` reads the colours in the page and judges them here.
 */

export interface Rgba {
  readonly r: number;
  readonly g: number;
  readonly b: number;
  /** 0–1. */
  readonly a: number;
}

export function parseColor(text: string): Rgba {
  const t = text.trim().toLowerCase();
  const fn = /^rgba?\(\s*([\d.]+)[\s,]+([\d.]+)[\s,]+([\d.]+)(?:[\s,/]+([\d.]+%?))?\s*\)$/.exec(t);
  if (fn) {
    const alpha = fn[4] === undefined ? 1 : fn[4].endsWith('%') ? Number(fn[4].slice(0, -1)) / 100 : Number(fn[4]);
    return { r: Number(fn[1]), g: Number(fn[2]), b: Number(fn[3]), a: alpha };
  }
  const hex = /^#([0-9a-f]{3,8})$/.exec(t)?.[1];
  if (hex && [3, 4, 6, 8].includes(hex.length)) {
    const full = hex.length <= 4 ? [...hex].map((c) => c + c).join('') : hex;
    const n = (i: number) => parseInt(full.slice(i, i + 2), 16);
    return { r: n(0), g: n(2), b: n(4), a: full.length === 8 ? n(6) / 255 : 1 };
  }
  if (t === 'transparent') return { r: 0, g: 0, b: 0, a: 0 };
  throw new Error(`cannot read the colour ${JSON.stringify(text)}`);
}

/** `top` painted over the opaque `bottom`. */
export function over(top: Rgba, bottom: Rgba): Rgba {
  const a = top.a;
  return { r: top.r * a + bottom.r * (1 - a), g: top.g * a + bottom.g * (1 - a), b: top.b * a + bottom.b * (1 - a), a: 1 };
}

/** The opaque colour behind an element: its own background and its ancestors', innermost first, over `base`. */
export function effectiveBackground(layers: readonly Rgba[], base: Rgba): Rgba {
  return [...layers].reverse().reduce((below, layer) => over(layer, below), base);
}

function luminance(c: Rgba): number {
  const lin = (v: number) => {
    const s = v / 255;
    return s <= 0.03928 ? s / 12.92 : ((s + 0.055) / 1.055) ** 2.4;
  };
  return 0.2126 * lin(c.r) + 0.7152 * lin(c.g) + 0.0722 * lin(c.b);
}

/** The WCAG contrast ratio of text `fg` (possibly translucent) on the opaque `bg`, 1–21. */
export function contrastRatio(fg: Rgba, bg: Rgba): number {
  const f = luminance(over(fg, bg));
  const b = luminance(bg);
  return (Math.max(f, b) + 0.05) / (Math.min(f, b) + 0.05);
}

/** WCAG AA for normal text. */
export const AA = 4.5;

/** What the page measures for each visible text: its colour and the backgrounds under it, innermost first. */
export interface TextSample {
  readonly where: string;
  readonly text: string;
  readonly color: string;
  readonly layers: string[];
}

/**
 * Runs in the webview (as source text: this project compiles without the DOM library). Every element of the view with
 * text of its own that is visible (folded details opened first; disabled buttons skipped, WCAG exempts them), with its
 * computed colour and the computed backgrounds from it up to the root; and the editor background painted under all.
 */
export const MEASURE_TEXTS = `(() => {
  const base = getComputedStyle(document.documentElement).getPropertyValue('--vscode-editor-background').trim();
  const samples = [];
  for (const el of document.querySelectorAll('#bb-root *')) {
    const own = Array.from(el.childNodes).filter((n) => n.nodeType === 3).map((n) => n.textContent || '').join('').trim();
    if (!own || !el.checkVisibility({ checkOpacity: true, checkVisibilityCSS: true })) continue;
    if (el.closest('button:disabled')) continue;
    const layers = [];
    for (let e = el; e; e = e.parentElement) layers.push(getComputedStyle(e).backgroundColor);
    samples.push({ where: el.tagName.toLowerCase() + (el.id ? '#' + el.id : '') + '.' + el.className, text: own.slice(0, 40), color: getComputedStyle(el).color, layers });
  }
  return { base, samples };
})()`;

/** Every visible text of the trust view in `frame`, measured: how many, the lowest ratio, and those below AA. */
export async function measureContrast(frame: { evaluate<R>(expression: string): Promise<R> }): Promise<{ samples: number; worst: TextSample & { ratio: number }; failing: string[] }> {
  const { base, samples } = await frame.evaluate<{ base: string; samples: TextSample[] }>(MEASURE_TEXTS);
  const baseColor = parseColor(base);
  const ratios = samples.map((s) => ({ ...s, ratio: contrastRatio(parseColor(s.color), effectiveBackground(s.layers.map(parseColor), baseColor)) }));
  const worst = ratios.reduce((a, b) => (b.ratio < a.ratio ? b : a));
  return { samples: samples.length, worst, failing: ratios.filter((r) => r.ratio < AA).map((r) => `${r.ratio.toFixed(2)}:1 ${r.where} "${r.text}" ${r.color}`) };
}
