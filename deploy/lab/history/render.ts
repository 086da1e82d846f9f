/**
 * Turns a LabState into the files of the module tree: lab_main.c (the /proc interface and the
 * commands the reproducer drives), lab_stats.c, one feat_<topic>.c per merged topic, lab.h,
 * Kbuild, Makefile, repro.sh and README.md.
 */
import { BUG_KINDS, bugFunctionSource } from './bugs.js';
import type { LabState } from './state.js';

export interface RenderedFile {
  path: string;
  content: string;
  executable?: boolean;
}

/** LAB_BUDGET is fixed: the reproducer reserves more than it on every commit. */
const BUDGET = 64;

export const REPRODUCER = `#!/bin/sh
# The reproducer: drives every command of /proc/multisect_lab once, in a fixed order.
# The guest's init runs it after loading the module; a failing command is only reported.
P=/proc/multisect_lab
for c in "push 8" "lookup 3" "lookup 1000" "reserve 100" "pop" "walk" "requeue" "race" "stats" "drain"; do
	echo "repro: $c"
	echo "$c" > "$P" || echo "repro: '$c' failed"
done
`;

function mainSource(s: LabState): string {
  const features = Object.keys(s.features).sort();
  const scores = features.map((f) => `\ttotal += lab_${f}_score(lab.count);`).join('\n');
  const broken = s.broken ? '\ttotal += lab_batch_scale(total);\n' : '';
  return `// SPDX-License-Identifier: GPL-2.0
/*
 * multisect_lab: a small driver whose history multisect bisects.
 * Commands are written to /proc/multisect_lab, one per write.
 */
#include <linux/module.h>
#include <linux/proc_fs.h>
#include <linux/slab.h>
#include <linux/list.h>
#include <linux/uaccess.h>
#include <linux/completion.h>
#include <linux/random.h>
#include <linux/spinlock.h>
#include "lab.h"

#define LAB_VERSION "1.${s.version}"
#define LAB_BATCH ${s.batch}
#define LAB_BUDGET ${BUDGET}

struct lab_entry {
	struct list_head node;
	int key;
	int value;
};

static struct {
	struct list_head head;
	struct lab_entry *spare;
	struct lab_entry *shared;
	struct completion flushed;
	spinlock_t lock;
	int count;
	int reserved;
	int pending;
} lab;

static noinline struct lab_entry *lab_find(int key)
{
	struct lab_entry *e;

	list_for_each_entry(e, &lab.head, node)
		if (e->key == key)
			return e;
	return NULL;
}

static noinline int multisect_lab_push(int n)
{
	int i;

	if (n > LAB_BATCH)
		n = LAB_BATCH;
	for (i = 0; i < n; i++) {
		struct lab_entry *e = lab.spare ? lab.spare : kzalloc(sizeof(*e), GFP_KERNEL);

		if (!e)
			return -ENOMEM;
		lab.spare = NULL;
		e->key = lab.count;
		e->value = lab.count * 7 + 1;
		list_add_tail(&e->node, &lab.head);
		lab.count++;
	}
	spin_lock(&lab.lock);
	lab.shared = list_first_entry(&lab.head, struct lab_entry, node);
	spin_unlock(&lab.lock);
	return 0;
}

static noinline int multisect_lab_pop(void)
{
	struct lab_entry *e;

	if (list_empty(&lab.head))
		return -ENOENT;
	e = list_first_entry(&lab.head, struct lab_entry, node);
	list_del(&e->node);
	spin_lock(&lab.lock);
	if (lab.shared == e)
		lab.shared = list_first_entry_or_null(&lab.head, struct lab_entry, node);
	spin_unlock(&lab.lock);
	kfree(lab.spare);
	lab.spare = e;
	lab.count--;
	return 0;
}

${BUG_KINDS.map((k) => bugFunctionSource(k, s.bug)).join('\n\n')}

static noinline int multisect_lab_stats(void)
{
	int total = lab.count;

${scores}${scores ? '\n' : ''}${broken}	lab_stats_report(total);
	return 0;
}

static ssize_t multisect_lab_write(struct file *file, const char __user *ubuf, size_t len, loff_t *off)
{
	char buf[64], cmd[16];
	int arg = 0, ret;

	if (len == 0 || len >= sizeof(buf))
		return -EINVAL;
	if (copy_from_user(buf, ubuf, len))
		return -EFAULT;
	buf[len] = 0;
	if (sscanf(buf, "%15s %d", cmd, &arg) < 1)
		return -EINVAL;
	lab_stats_bump(LAB_COUNTER_writes);
	if (!strcmp(cmd, "push"))
		ret = multisect_lab_push(arg);
	else if (!strcmp(cmd, "pop"))
		ret = multisect_lab_pop();
	else if (!strcmp(cmd, "lookup"))
		ret = multisect_lab_lookup(arg);
	else if (!strcmp(cmd, "reserve"))
		ret = multisect_lab_reserve(arg);
	else if (!strcmp(cmd, "walk"))
		ret = multisect_lab_walk();
	else if (!strcmp(cmd, "requeue"))
		ret = multisect_lab_requeue();
	else if (!strcmp(cmd, "race"))
		ret = multisect_lab_race();
	else if (!strcmp(cmd, "drain"))
		ret = multisect_lab_drain();
	else if (!strcmp(cmd, "stats"))
		ret = multisect_lab_stats();
	else
		ret = -EINVAL;
	if (ret < 0) {
		lab_stats_bump(LAB_COUNTER_errors);
		return ret;
	}
	pr_info("multisect_lab: %s %d -> %d\\n", cmd, arg, ret);
	return len;
}

static const struct proc_ops multisect_lab_ops = {
	.proc_write = multisect_lab_write,
};

static int __init multisect_lab_init(void)
{
	INIT_LIST_HEAD(&lab.head);
	init_completion(&lab.flushed);
	spin_lock_init(&lab.lock);
	if (!proc_create("multisect_lab", 0200, NULL, &multisect_lab_ops))
		return -ENOMEM;
	pr_info("multisect_lab " LAB_VERSION " loaded\\n");
	return 0;
}

static void __exit multisect_lab_exit(void)
{
	struct lab_entry *e, *tmp;

	remove_proc_entry("multisect_lab", NULL);
	list_for_each_entry_safe(e, tmp, &lab.head, node)
		kfree(e);
	kfree(lab.spare);
}

module_init(multisect_lab_init);
module_exit(multisect_lab_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("multisect kernel lab driver");
`;
}

function statsSource(s: LabState): string {
  return `// SPDX-License-Identifier: GPL-2.0
/* Counters of the lab driver, reported by the stats command. */
#include <linux/atomic.h>
#include <linux/printk.h>
#include "lab.h"

static const char *const lab_counter_names[LAB_COUNTER_MAX] = {
${s.counters.map((c) => `\t[LAB_COUNTER_${c}] = "${c}",`).join('\n')}
};

static atomic_t lab_counters[LAB_COUNTER_MAX];

void lab_stats_bump(int counter)
{
	atomic_inc(&lab_counters[counter]);
}

void lab_stats_report(int total)
{
	int i;

	for (i = 0; i < LAB_COUNTER_MAX; i++)
		pr_info("multisect_lab: %s=%d\\n", lab_counter_names[i], atomic_read(&lab_counters[i]));
	pr_info("multisect_lab: score=%d\\n", total);
}
`;
}

function headerSource(s: LabState): string {
  const features = Object.keys(s.features).sort();
  return `/* SPDX-License-Identifier: GPL-2.0 */
#ifndef MULTISECT_LAB_H
#define MULTISECT_LAB_H

enum lab_counter {
${s.counters.map((c) => `\tLAB_COUNTER_${c},`).join('\n')}
	LAB_COUNTER_MAX
};

void lab_stats_bump(int counter);
void lab_stats_report(int total);
${features.map((f) => `int lab_${f}_score(int x);`).join('\n')}

#endif
`;
}

function featureSource(name: string, s: LabState): string {
  const f = s.features[name];
  if (!f) throw new Error(`no feature ${name}`);
  const steps = f.steps.map((st) => `\ts = s ${st.op} ${st.k};`).join('\n');
  return `// SPDX-License-Identifier: GPL-2.0
/* The ${name} score, summed by the stats command. */
#include "lab.h"

#define ${name.toUpperCase()}_WEIGHT ${f.weight}

int lab_${name}_score(int x)
{
	int s = x * ${name.toUpperCase()}_WEIGHT;

${steps}
	return s & 0xffff;
}
`;
}

export function renderTree(s: LabState): RenderedFile[] {
  const features = Object.keys(s.features).sort();
  const objs = ['lab_main.o', 'lab_stats.o', ...features.map((f) => `feat_${f}.o`)];
  return [
    { path: 'Kbuild', content: `obj-m := multisect_lab.o\nmultisect_lab-y := ${objs.join(' ')}\n` },
    {
      path: 'Makefile',
      content: `# Build against a kernel's headers: make KDIR=/path/to/linux-headers-<release>\nKDIR ?= /lib/modules/$(shell uname -r)/build\nall:\n\t$(MAKE) -C $(KDIR) M=$(CURDIR) modules\nclean:\n\t$(MAKE) -C $(KDIR) M=$(CURDIR) clean\n`,
    },
    { path: 'lab.h', content: headerSource(s) },
    { path: 'lab_main.c', content: mainSource(s) },
    { path: 'lab_stats.c', content: statsSource(s) },
    ...features.map((f) => ({ path: `feat_${f}.c`, content: featureSource(f, s) })),
    { path: 'repro.sh', content: REPRODUCER, executable: true },
    {
      path: 'README.md',
      content: `# multisect_lab\n\nA generated out-of-tree kernel module: the "kernel tree" the multisect kernel lab bisects.\n\n${s.docs.map((d) => `- ${d}`).join('\n')}\n`,
    },
  ];
}
