import type { Command } from 'commander';

/** Placeholder: filled in by the issue that brings this command. */
export function registerFarm(_program: Command): void {}
