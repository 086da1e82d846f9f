/*
 * The real-kernel lab's reproducer, as syzbot sends them: a static C program run as the guest's
 * test. It calls the lab's prctl option with a key out of the lab table's range: -EINVAL on a
 * correct kernel, the planted bug (deploy/lab/history/linux.ts) on a broken one.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>

#define PR_MULTISECT_LAB 0x4d534c00

int main(void)
{
	long r = prctl(PR_MULTISECT_LAB, 1000, 0, 0, 0);

	printf("repro: prctl(lab, 1000) = %ld (%s)\n", r, r < 0 ? strerror(errno) : "ok");
	return 0;
}
