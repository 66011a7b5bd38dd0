// Draws a layer map layout as SVG. Colours come from CSS classes on VS Code's theme variables
// (media/run.css), so a theme switch needs no redraw; roles differ by dash pattern as well as
// colour. Labels are text nodes, never markup.
import type { LayerBox, LayerMapLayout, LinkRole } from './layer-map';

const NS = 'http://www.w3.org/2000/svg';

function el<K extends keyof SVGElementTagNameMap>(tag: K, attrs: Record<string, string | number>, ...children: Array<SVGElement | string>): SVGElementTagNameMap[K] {
  const e = document.createElementNS(NS, tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, String(v));
  for (const c of children) e.appendChild(typeof c === 'string' ? document.createTextNode(c) : c);
  return e;
}

function box(b: LayerBox, row: 'teacher' | 'student'): SVGGElement {
  const g = el('g', { class: `layer ${row}${b.linked ? ' linked' : ''}`, 'data-layer': b.layer },
    el('title', {}, `${row} ${b.layer === 0 ? 'embeddings' : `layer ${b.layer}`}`),
    el('rect', { x: b.x, y: b.y, width: b.w, height: b.h, rx: 3 }));
  // A label that does not fit is left to the tooltip.
  if (b.w >= 16) g.appendChild(el('text', { x: b.x + b.w / 2, y: b.y + b.h / 2, 'text-anchor': 'middle', 'dominant-baseline': 'central' }, b.label));
  return g;
}

const LEGEND: Array<{ role: LinkRole; text: string }> = [
  { role: 'init', text: 'initialises' },
  { role: 'supervise', text: 'supervises' },
  { role: 'both', text: 'both' },
];

export function layerMapSvg(layout: LayerMapLayout): SVGSVGElement {
  const svg = el('svg', {
    class: 'layer-map-svg', width: layout.width, height: layout.height, viewBox: `0 0 ${layout.width} ${layout.height}`, role: 'img', 'aria-label': layout.description,
  });
  svg.appendChild(el('text', { class: 'row-label', x: layout.rowLabels.teacher.x, y: layout.rowLabels.teacher.y, 'dominant-baseline': 'central' }, 'Teacher'));
  svg.appendChild(el('text', { class: 'row-label', x: layout.rowLabels.student.x, y: layout.rowLabels.student.y, 'dominant-baseline': 'central' }, 'Student'));
  const links = el('g', { class: 'links' });
  for (const l of layout.links) {
    links.appendChild(el('path', { class: `link role-${l.role}`, d: l.d, 'data-role': l.role, 'data-teacher': l.teacher, 'data-student': l.student }, el('title', {}, l.title)));
  }
  svg.appendChild(links);
  for (const b of layout.teacher) svg.appendChild(box(b, 'teacher'));
  for (const b of layout.student) svg.appendChild(box(b, 'student'));
  return svg;
}

/** The key to the link styles, drawn with the same classes as the links. */
export function layerMapLegend(): SVGSVGElement {
  const w = 118;
  const svg = el('svg', { class: 'layer-map-legend', width: w * LEGEND.length, height: 18, 'aria-hidden': 'true' });
  LEGEND.forEach((k, i) => {
    svg.appendChild(el('path', { class: `link role-${k.role}`, d: `M ${i * w + 2} 9 L ${i * w + 30} 9` }));
    svg.appendChild(el('text', { class: 'legend-text', x: i * w + 36, y: 9, 'dominant-baseline': 'central' }, k.text));
  });
  return svg;
}
