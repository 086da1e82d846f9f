/** The recipes an agent started from the CLI can run besides `script` (the built-in one). */
import type { Recipe } from '../../agent/recipes/types.js';

export async function KernelRecipeLoader(): Promise<Recipe[]> {
  return [];
}
