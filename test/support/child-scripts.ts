import { inject } from 'vitest';
import type { ChildScript } from './build-child-scripts.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    childScripts: Record<ChildScript, string>;
  }
}

/** The compiled program to start with `node <path> …` (see buildChildScripts). */
export function childScript(name: ChildScript): string {
  return inject('childScripts')[name];
}
