// The layer map's layout: rows for the teacher's and the student's layers (0 the embeddings),
// one curve per link from the teacher box's bottom to the student box's top, roles merged
// (init + supervise of one pair is both), links out of range dropped, and words for each link.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { RunLayerMap } from '../../src/shared/protocol';
import { cleanLinks, layoutLayerMap, MAX_LAYERS } from '../../webview/run/layer-map';

// DistilBERT-style: a 12-layer teacher, a 6-layer student initialised from every other layer and
// supervised at the same layers; the embeddings initialise the embeddings.
const distil: RunLayerMap = {
  teacherLayers: 12, studentLayers: 6,
  links: [
    { student: 0, teacher: 0, role: 'init' },
    ...Array.from({ length: 6 }, (_, i) => ({ student: i + 1, teacher: 2 * (i + 1), role: 'both' as const })),
  ],
};

test('rows of boxes: layers 0..N for each model, the teacher above, in order left to right, inside the width', () => {
  const l = layoutLayerMap(distil, 800);
  assert.equal(l.teacher.length, 13);
  assert.equal(l.student.length, 7);
  assert.deepEqual(l.teacher.slice(0, 3).map((b) => b.label), ['emb', '1', '2']);
  for (const row of [l.teacher, l.student]) {
    for (let i = 1; i < row.length; i++) assert.ok(row[i].x > row[i - 1].x + row[i - 1].w, 'boxes do not overlap');
    assert.ok(row[0].x >= 0 && row[row.length - 1].x + row[row.length - 1].w <= 800);
  }
  assert.ok(l.teacher[0].y + l.teacher[0].h < l.student[0].y, 'teacher row above the student row');
  assert.equal(l.height, l.student[0].y + l.student[0].h + 8);
  assert.deepEqual(l.teacher.filter((b) => b.linked).map((b) => b.layer), [0, 2, 4, 6, 8, 10, 12]);
  assert.ok(l.student.every((b) => b.linked));
});

test('each link is a curve from the teacher box bottom to the student box top, with its role and words', () => {
  const l = layoutLayerMap(distil, 800);
  assert.equal(l.links.length, 7);
  const link = l.links.find((x) => x.student === 3)!;
  assert.equal(link.teacher, 6);
  assert.equal(link.role, 'both');
  const t = l.teacher[6];
  const s = l.student[3];
  const m = /^M ([\d.]+) ([\d.]+) C .*, ([\d.]+) ([\d.]+)$/.exec(link.d);
  assert.ok(m, link.d);
  assert.ok(Math.abs(Number(m[1]) - (t.x + t.w / 2)) < 0.1 && Math.abs(Number(m[2]) - (t.y + t.h)) < 0.1);
  assert.ok(Math.abs(Number(m[3]) - (s.x + s.w / 2)) < 0.1 && Math.abs(Number(m[4]) - s.y) < 0.1);
  assert.equal(link.title, 'Teacher layer 6 initialises and supervises student layer 3');
  assert.equal(l.links[0].title, 'Teacher the embeddings initialises student the embeddings');
  assert.match(l.description, /^Layer map: a teacher of 12 layers, a student of 6\. /);
});

test('init and supervise of one pair merge into both; out-of-range, unknown roles and junk are dropped and counted', () => {
  const c = cleanLinks({
    teacherLayers: 4, studentLayers: 2,
    links: [
      { student: 1, teacher: 2, role: 'init' }, { student: 1, teacher: 2, role: 'supervise' },
      { student: 2, teacher: 4, role: 'supervise' }, { student: 2, teacher: 4, role: 'supervise' },
      { student: 3, teacher: 1, role: 'init' }, { student: 1, teacher: -1, role: 'init' }, { student: 1, teacher: 1, role: 'teach' as never },
      { student: 1.5, teacher: 1, role: 'init' }, null as never,
    ],
  });
  assert.deepEqual(c.links, [{ student: 1, teacher: 2, role: 'both' }, { student: 2, teacher: 4, role: 'supervise' }]);
  assert.equal(c.dropped, 5);
});

test('a deep teacher still fits: boxes shrink, labels that do not fit are left to the tooltip', () => {
  const l = layoutLayerMap({ teacherLayers: 48, studentLayers: 4, links: [{ student: 4, teacher: 48, role: 'supervise' }] }, 320);
  assert.equal(l.teacher.length, 49);
  const last = l.teacher[48];
  assert.ok(last.x + last.w <= 320);
  assert.ok(last.w < 16);
  assert.equal(layoutLayerMap({ teacherLayers: 10_000, studentLayers: 2, links: [] }, 600).teacher.length, MAX_LAYERS + 1);
  assert.equal(layoutLayerMap({ teacherLayers: 2, studentLayers: 1, links: [] }, 10).width, 240, 'never narrower than readable');
});
