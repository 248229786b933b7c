import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { productionNodeFlags } from '../../bench/lib/proc.js';

/**
 * `npm start` and the README's container command run the build with the same
 * Node flags; the benchmark measures the build with those of `npm start`.
 */
describe('the production command', () => {
  it("the README's container command carries the Node flags of npm start", () => {
    const flags = productionNodeFlags();
    expect(flags.length).toBeGreaterThan(0);
    const readme = readFileSync('README.md', 'utf8');
    expect(readme).toContain(`node ${flags.join(' ')} dist/server.js`);
    expect(readme).toContain(`CMD ["node", ${flags.map((f) => `"${f}"`).join(', ')}, "dist/server.js"]`);
  });
});
