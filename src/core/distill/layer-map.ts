// Which teacher layer each student layer comes from or learns. Layers are counted from 1, with 0
// for the embeddings, as in the TinyBERT paper.

/**
 * DistilBERT-style: the teacher layers a k-layer student keeps, evenly spaced with the first and
 * the last included: round(i (N - 1) / (k - 1)). For 12 -> 6 that is Hugging Face's own choice
 * for DistilBERT (0, 2, 4, 7, 9, 11, counted from 0, as --teacher-layers takes them).
 */
export function evenlySpacedLayers(teacherLayers: number, studentLayers: number): number[] {
  if (!(Number.isInteger(studentLayers) && studentLayers >= 1 && studentLayers <= teacherLayers)) {
    throw new RangeError(`a student of ${studentLayers} layers cannot keep layers of a ${teacherLayers}-layer teacher`);
  }
  if (studentLayers === 1) return [teacherLayers - 1];
  return Array.from({ length: studentLayers }, (_, i) => Math.round((i * (teacherLayers - 1)) / (studentLayers - 1)));
}

/**
 * TinyBERT-style: student layer m (1..M) learns teacher layer g(m) = floor(m N / M); g(0) = 0 is
 * the embeddings. When M divides N this is the paper's m * N / M; otherwise the floor keeps the
 * last student layer on the teacher's last (the reference code's integer k = N / M would not).
 */
export function tinyLayerMap(teacherLayers: number, studentLayers: number): number[] {
  if (!(Number.isInteger(studentLayers) && studentLayers >= 1 && studentLayers <= teacherLayers)) {
    throw new RangeError(`a student of ${studentLayers} layers cannot map onto a ${teacherLayers}-layer teacher`);
  }
  return Array.from({ length: studentLayers + 1 }, (_, m) => Math.floor((m * teacherLayers) / studentLayers));
}

/** How the run panel draws it: 0 = embeddings, layers from 1. */
export interface LayerMap {
  teacherLayers: number;
  studentLayers: number;
  links: Array<{ student: number; teacher: number; role: 'init' | 'supervise' | 'both' }>;
}
