import { formatResult } from '../../shared/catalog';

describe('Function: formatResult', () => {
  it('renders a table of 200k rows (no call-stack overflow) with columns as wide as the widest cell', () => {
    // Prepare
    const rows = Array.from({ length: 200_000 }, (_, i) => ({ n: i, name: i === 7 ? 'the-longest-name' : 'x' }));
    // Act
    const text = formatResult({ columns: ['n', 'name'], rows }, 'table');
    // Assess
    const lines = text.split('\n');
    expect(lines[0]).toBe('n      | name');
    expect(lines[1]).toBe(`${'-'.repeat(6)}-+-${'-'.repeat(16)}`);
    expect(lines[9]).toBe('7      | the-longest-name');
    expect(lines.at(-2)).toBe('(200000 rows)');
  });
});
