/**
 * Calibration of the confidence the engine states: among the culprits it named at confidence c,
 * the share that were right, by bucket of c. "Confidence 0.99" means what it says when the
 * [0.99, 1] bucket is right at least 99% of the time.
 */

export interface CalibrationBucket {
  /** The bucket is [lo, hi), the last one [lo, 1]. */
  lo: number;
  hi: number;
  /** Culprits named with a confidence in the bucket, and how many of them were right. */
  named: number;
  right: number;
  /** right / named; null when nothing was named there. */
  share: number | null;
}

export const CALIBRATION_EDGES: readonly number[] = [0, 0.9, 0.95, 0.99, 1];

/** Bucket the named culprits (rows with a confidence and an answer) by confidence. */
export function calibrate(rows: readonly { answer: string | null; correct: boolean; confidence?: number }[], edges: readonly number[] = CALIBRATION_EDGES): CalibrationBucket[] {
  const buckets: CalibrationBucket[] = [];
  for (let i = 0; i + 1 < edges.length; i++) buckets.push({ lo: edges[i]!, hi: edges[i + 1]!, named: 0, right: 0, share: null });
  for (const r of rows) {
    if (r.answer === null || r.confidence === undefined) continue;
    const c = Math.min(1, Math.max(0, r.confidence));
    let at = buckets.findIndex((b, i) => c >= b.lo && (c < b.hi || i === buckets.length - 1));
    if (at < 0) at = 0;
    const b = buckets[at]!;
    b.named++;
    if (r.correct) b.right++;
  }
  for (const b of buckets) b.share = b.named > 0 ? b.right / b.named : null;
  return buckets;
}

/** One line per bucket that named something: "[0.99, 1]  named 497  right 497 (1.000)". */
export function renderCalibration(buckets: readonly CalibrationBucket[]): string[] {
  const named = buckets.filter((b) => b.named > 0);
  if (named.length === 0) return ['  (no culprit named)'];
  return named.map((b) => {
    const range = `[${b.lo}, ${b.hi}${b.hi >= 1 ? ']' : ')'}`;
    return `  ${range.padEnd(14)}named ${String(b.named).padStart(5)}  right ${String(b.right).padStart(5)} (${b.share!.toFixed(3)})`;
  });
}
