import type { CgiSpawner } from './spawner.js';

/** The native spawner, or why it cannot be had here. */
export function loadNativeSpawner(): { spawner: CgiSpawner } | { reason: string } {
  return { reason: 'the @cgibridge/native package is not built' };
}
