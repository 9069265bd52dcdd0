/**
 * Small helpers to write SVG and HTML as strings: escaping (every string
 * from the run — invariant details, client values — goes through it) and
 * the geometry of a timeline drawing.
 */

/** Escapes text for an XML/HTML text node or a double- or single-quoted attribute. */
export function escapeXml(text: string): string {
  return text.replace(/[&<>"']/g, (char) => `&#${char.charCodeAt(0)};`);
}

/** A number as short SVG coordinate text. */
export function coordinate(value: number): string {
  return (Math.round(value * 10) / 10).toString();
}

/** An SVG element with attributes, an optional tooltip (`<title>`) and children. */
export function element(name: string, attributes: Readonly<Record<string, string | number>>, tooltip?: string, children = ''): string {
  const attributeText = Object.entries(attributes)
    .map(([key, value]) => ` ${key}="${typeof value === 'number' ? coordinate(value) : escapeXml(value)}"`)
    .join('');
  const title = tooltip === undefined ? '' : `<title>${escapeXml(tooltip)}</title>`;
  return title === '' && children === '' ? `<${name}${attributeText}/>` : `<${name}${attributeText}>${title}${children}</${name}>`;
}

/** A round step between axis ticks (1, 2 or 5 × 10^k ms) that leaves at least `minPx` between ticks. */
export function tickStepMs(pxPerMs: number, minPx: number): number {
  for (let power = 1e-3; power <= 1e12; power *= 10) {
    for (const factor of [1, 2, 5]) {
      if (factor * power * pxPerMs >= minPx) return factor * power;
    }
  }
  return 1e12;
}
