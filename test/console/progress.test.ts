/** The CLI's progress line (src/cli/commands.ts `progress`), as it renders into a log. */
import { expect, it, vi } from "vitest";
import { progress } from "../../src/cli/commands.ts";

it("prints one line per tenth in a log, clamps, and ends at 100%", () => {
  const lines: string[] = [];
  const step = progress("reconciling", (s) => lines.push(s), false);
  for (let i = 1; i <= 250; i++) step(i, 250);
  expect(lines).toHaveLength(11);
  expect(lines[0]).toBe("reconciling [........................] 1/250 0%");
  expect(lines[1]).toBe("reconciling [##......................] 25/250 10%");
  expect(lines.at(-1)).toBe("reconciling [########################] 250/250 100%");

  const odd: string[] = [];
  const clamp = progress("x", (s) => odd.push(s), false);
  clamp(0, 0);
  clamp(5, 3);
  expect(odd).toEqual(["x [########################] 0/0 100%", "x [########################] 3/3 100%"]);
});

it("redraws one line in place on a terminal and ends it with a newline", () => {
  const write = vi.spyOn(process.stdout, "write").mockImplementation(() => true);
  try {
    const step = progress("migrating", () => {
      throw new Error("a terminal gets no log lines");
    }, true);
    step(1, 2);
    step(2, 2);
    expect(write.mock.calls.map((c) => c[0])).toEqual([
      "\rmigrating [############............] 1/2 50%",
      "\rmigrating [########################] 2/2 100%\n",
    ]);
  } finally {
    write.mockRestore();
  }
});
