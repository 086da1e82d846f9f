/** The recipes an agent started from the CLI can run besides `script` (the built-in one). */
import { KernelRecipe } from '../../agent/recipes/kernel.js';
import type { Recipe } from '../../agent/recipes/types.js';

export function extraRecipes(): Recipe[] {
  return [new KernelRecipe()];
}
