// The teacher -> student layer map's layout: the teacher's layers in a row above the student's
// (0, the embeddings, on the left), and a curve from each teacher layer to the student layer it
// initialises, supervises, or both. Pure geometry on a payload that crossed a frame boundary
// (so checked here); layer-map-svg.ts draws it.
import type { RunLayerLink, RunLayerMap } from '../../src/shared/protocol';

export type LinkRole = RunLayerLink['role'];

export interface LayerBox {
  layer: number;
  label: string;
  /** Left, top, width, height. */
  x: number;
  y: number;
  w: number;
  h: number;
  /** Has at least one link. */
  linked: boolean;
}

export interface LinkPath {
  student: number;
  teacher: number;
  role: LinkRole;
  /** An SVG path: a cubic curve from the teacher box's bottom to the student box's top. */
  d: string;
  /** Says it in words (the tooltip, and the text alternative). */
  title: string;
}

export interface LayerMapLayout {
  width: number;
  height: number;
  teacher: LayerBox[];
  student: LayerBox[];
  links: LinkPath[];
  /** Where the row names are written. */
  rowLabels: { teacher: { x: number; y: number }; student: { x: number; y: number } };
  /** Links left out: out of range, or with no known role. */
  dropped: number;
  description: string;
}

/** Beyond this many layers a row would be unreadable; more are drawn as this many. */
export const MAX_LAYERS = 96;
const ROLES: readonly LinkRole[] = ['init', 'supervise', 'both'];

const PAD = 8;
const LABEL_W = 64;
const BOX_H = 24;
const ROW_GAP = 84;
const TOP = 8;

export function layerLabel(layer: number): string {
  return layer === 0 ? 'emb' : String(layer);
}

function layerWords(layer: number): string {
  return layer === 0 ? 'the embeddings' : `layer ${layer}`;
}

const ROLE_WORDS: Record<LinkRole, string> = { init: 'initialises', supervise: 'supervises', both: 'initialises and supervises' };

/** Links checked and merged: a pair given as init and as supervise is one link with both roles. */
export function cleanLinks(map: RunLayerMap): { links: RunLayerLink[]; dropped: number; teacherLayers: number; studentLayers: number } {
  const teacherLayers = Math.max(0, Math.min(MAX_LAYERS, Math.floor(map.teacherLayers)));
  const studentLayers = Math.max(0, Math.min(MAX_LAYERS, Math.floor(map.studentLayers)));
  const byPair = new Map<string, RunLayerLink>();
  let dropped = 0;
  for (const l of map.links) {
    const ok = Number.isInteger(l?.student) && Number.isInteger(l?.teacher) && ROLES.includes(l?.role)
      && l.student >= 0 && l.student <= studentLayers && l.teacher >= 0 && l.teacher <= teacherLayers;
    if (!ok) { dropped++; continue; }
    const key = `${l.teacher}>${l.student}`;
    const had = byPair.get(key);
    const role: LinkRole = had && had.role !== l.role ? 'both' : l.role;
    byPair.set(key, { student: l.student, teacher: l.teacher, role });
  }
  const links = [...byPair.values()].sort((a, b) => a.student - b.student || a.teacher - b.teacher);
  return { links, dropped, teacherLayers, studentLayers };
}

/** Boxes for layers 0..layers across the width right of the row labels. */
function row(layers: number, width: number, y: number, linked: Set<number>): LayerBox[] {
  const n = layers + 1;
  const slot = (width - LABEL_W - 2 * PAD) / n;
  const w = Math.max(4, Math.min(48, slot - 6));
  return Array.from({ length: n }, (_, i) => ({
    layer: i, label: layerLabel(i), x: LABEL_W + PAD + slot * i + (slot - w) / 2, y, w, h: BOX_H, linked: linked.has(i),
  }));
}

export function layoutLayerMap(map: RunLayerMap, width: number): LayerMapLayout {
  const { links, dropped, teacherLayers, studentLayers } = cleanLinks(map);
  const w = Math.max(240, Math.floor(width));
  const teacherY = TOP;
  const studentY = TOP + BOX_H + ROW_GAP;
  const teacher = row(teacherLayers, w, teacherY, new Set(links.map((l) => l.teacher)));
  const student = row(studentLayers, w, studentY, new Set(links.map((l) => l.student)));
  const paths = links.map((l): LinkPath => {
    const t = teacher[l.teacher];
    const s = student[l.student];
    const x1 = t.x + t.w / 2;
    const y1 = t.y + t.h;
    const x2 = s.x + s.w / 2;
    const y2 = s.y;
    const mid = (y1 + y2) / 2;
    const f = (x: number) => Math.round(x * 10) / 10;
    return {
      student: l.student, teacher: l.teacher, role: l.role,
      d: `M ${f(x1)} ${f(y1)} C ${f(x1)} ${f(mid)}, ${f(x2)} ${f(mid)}, ${f(x2)} ${f(y2)}`,
      title: `Teacher ${layerWords(l.teacher)} ${ROLE_WORDS[l.role]} student ${layerWords(l.student)}`,
    };
  });
  const description = `Layer map: a teacher of ${teacherLayers} layers, a student of ${studentLayers}. `
    + (paths.length ? paths.map((p) => p.title).join('; ') + '.' : 'No links.');
  return {
    width: w, height: studentY + BOX_H + TOP, teacher, student, links: paths,
    rowLabels: { teacher: { x: PAD, y: teacherY + BOX_H / 2 }, student: { x: PAD, y: studentY + BOX_H / 2 } },
    dropped, description,
  };
}
