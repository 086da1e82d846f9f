/**
 * The bug kinds the lab can plant. Each kind lives in its own function of the module (so the crash
 * title names it), with a correct body and the body the culprit commit gives it. The reproducer
 * reaches every one of these functions on every commit; only the planted body crashes.
 */
export const BUG_KINDS = ['null-deref', 'warning', 'gpf', 'list-corruption', 'hang', 'flaky'] as const;
export type BugKind = (typeof BUG_KINDS)[number];

export function isBugKind(s: string): s is BugKind {
  return (BUG_KINDS as readonly string[]).includes(s);
}

export interface PlantedBug {
  kind: BugKind;
  /** flaky: chance per run, in thousandths. */
  permille: number;
}

/** The function each kind breaks: what the crash title is expected to name. */
export const BUG_FUNCTION: Record<BugKind, string> = {
  'null-deref': 'multisect_lab_lookup',
  warning: 'multisect_lab_reserve',
  gpf: 'multisect_lab_walk',
  'list-corruption': 'multisect_lab_requeue',
  hang: 'multisect_lab_drain',
  flaky: 'multisect_lab_race',
};

/** The culprit's subject: innocuous, the way real culprits read. */
export const BUG_SUBJECT: Record<BugKind, string> = {
  'null-deref': 'lab: return the looked-up value directly',
  warning: 'lab: assert that reservations stay within the budget',
  gpf: 'lab: resume walks after the last popped entry',
  'list-corruption': 'lab: requeue the newest entry without a list_move',
  hang: 'lab: always wait for the flusher in drain',
  flaky: 'lab: lockless fast path for the shared entry',
};

type Bodies = Record<BugKind, { ok: string; bad: (b: PlantedBug) => string }>;

const BODIES: Bodies = {
  'null-deref': {
    ok: `static noinline int multisect_lab_lookup(int key)
{
	struct lab_entry *e = lab_find(key);

	if (!e)
		return -ENOENT;
	return e->value;
}`,
    bad: () => `static noinline int multisect_lab_lookup(int key)
{
	struct lab_entry *e = lab_find(key);

	return e->value;
}`,
  },
  warning: {
    ok: `static noinline int multisect_lab_reserve(int n)
{
	/* Callers may ask for more than the budget: clamp. */
	if (n > LAB_BUDGET)
		n = LAB_BUDGET;
	lab.reserved = n;
	return 0;
}`,
    bad: () => `static noinline int multisect_lab_reserve(int n)
{
	if (WARN_ON(n > LAB_BUDGET))
		n = LAB_BUDGET;
	lab.reserved = n;
	return 0;
}`,
  },
  gpf: {
    ok: `static noinline int multisect_lab_walk(void)
{
	struct lab_entry *e;
	int sum = 0;

	list_for_each_entry(e, &lab.head, node)
		sum += e->value;
	return sum;
}`,
    // The spare entry was unlinked with list_del, which poisons its pointers.
    bad: () => `static noinline int multisect_lab_walk(void)
{
	struct list_head *pos = lab.spare ? lab.spare->node.next : lab.head.next;
	int sum = 0;

	for (; pos != &lab.head; pos = pos->next)
		sum += list_entry(pos, struct lab_entry, node)->value;
	return sum;
}`,
  },
  'list-corruption': {
    ok: `static noinline int multisect_lab_requeue(void)
{
	struct lab_entry *e;

	if (list_empty(&lab.head))
		return -ENOENT;
	e = list_last_entry(&lab.head, struct lab_entry, node);
	list_move_tail(&e->node, &lab.head);
	return 0;
}`,
    // Adding an entry that is still linked: list debugging reports a double add.
    bad: () => `static noinline int multisect_lab_requeue(void)
{
	struct lab_entry *e;

	if (list_empty(&lab.head))
		return -ENOENT;
	e = list_last_entry(&lab.head, struct lab_entry, node);
	list_add_tail(&e->node, &lab.head);
	return 0;
}`,
  },
  hang: {
    ok: `static noinline int multisect_lab_drain(void)
{
	/* Nothing queued for the flusher: nothing to wait for. */
	if (!lab.pending)
		return 0;
	wait_for_completion(&lab.flushed);
	return 0;
}`,
    bad: () => `static noinline int multisect_lab_drain(void)
{
	wait_for_completion(&lab.flushed);
	return 0;
}`,
  },
  flaky: {
    ok: `static noinline int multisect_lab_race(void)
{
	struct lab_entry *e;
	int v;

	spin_lock(&lab.lock);
	e = lab.shared;
	v = e ? e->value : -1;
	spin_unlock(&lab.lock);
	return v;
}`,
    // Without the lock a concurrent teardown can clear the entry between the check and the use.
    // The lab models the other CPU winning that window with a fixed chance per run, so the
    // reproducer crashes with exactly that probability.
    bad: (b) => `static noinline struct lab_entry *lab_race_window(struct lab_entry *e)
{
	/* The concurrent teardown wins the window ${b.permille} times in 1000. */
	if (get_random_u32_below(1000) < ${b.permille})
		return NULL;
	return e;
}

static noinline int multisect_lab_race(void)
{
	struct lab_entry *e = READ_ONCE(lab.shared);

	if (!e)
		return -1;
	e = lab_race_window(e);
	return e->value;
}`,
  },
};

/** The C source of kind's function: planted when `bug` is that kind, correct otherwise. */
export function bugFunctionSource(kind: BugKind, bug: PlantedBug | null): string {
  const b = BODIES[kind];
  return bug && bug.kind === kind ? b.bad(bug) : b.ok;
}
