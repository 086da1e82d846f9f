/**
 * Probe ids carry the phase they were issued in (`<job>-r-…` release walk, `-m-…` a cross-tree job's merge base, `-b-…` bisection,
 * `-v<round>-…` verification), so a replay after a restart puts every verdict back in its phase.
 * The random part (64 bits from the executor) makes an id unguessable: it also names the logs
 * and the verdict subject. shared/job-log.ts reads the same format.
 */
export type ProbePurpose = { kind: 'release' } | { kind: 'merge-base' } | { kind: 'bisect' } | { kind: 'verify'; round: number };

export function probeId(jobId: string, purpose: ProbePurpose, nonce: string): string {
  const tag = purpose.kind === 'release' ? 'r' : purpose.kind === 'merge-base' ? 'm' : purpose.kind === 'bisect' ? 'b' : `v${purpose.round}`;
  return `${jobId}-${tag}-${nonce}`;
}

export function purposeOf(id: string): ProbePurpose {
  const m = /-(r|m|b|v(\d+))-[0-9a-z]+$/.exec(id);
  if (m?.[1] === 'r') return { kind: 'release' };
  if (m?.[1] === 'm') return { kind: 'merge-base' };
  if (m?.[2] !== undefined) return { kind: 'verify', round: Number(m[2]) };
  return { kind: 'bisect' };
}

/** The purpose as typed fields (Probe.phase and .round, copied into the verdict by the agent). */
export function purposeFields(p: ProbePurpose): { phase: string; round: number } {
  return { phase: p.kind, round: p.kind === 'verify' ? p.round : 0 };
}

/**
 * A verdict's purpose: from its phase field (agents copy it from the probe), else, for verdicts
 * of older agents and ones stored before the field existed, from the probe id.
 */
export function purposeOfVerdict(v: { probeId: string; phase: string; round: number }): ProbePurpose {
  switch (v.phase) {
    case 'release':
      return { kind: 'release' };
    case 'merge-base':
      return { kind: 'merge-base' };
    case 'bisect':
      return { kind: 'bisect' };
    case 'verify':
      return { kind: 'verify', round: v.round };
    default:
      return purposeOf(v.probeId);
  }
}

export function isVerificationOfRound(v: { probeId: string; phase: string; round: number }, round: number): boolean {
  const p = purposeOfVerdict(v);
  return p.kind === 'verify' && p.round === round;
}
