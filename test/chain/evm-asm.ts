/**
 * A tiny EVM assembler, so the test contracts ship as readable source instead of an opaque bytecode blob
 * and need no Solidity compiler. Jump targets are labels (always PUSH2); constants get the smallest PUSH.
 */
import { toHex, type Hex } from "viem";

const opcodes = {
  STOP: 0x00, ADD: 0x01, SUB: 0x03, LT: 0x10, GT: 0x11, EQ: 0x14, ISZERO: 0x15, SHR: 0x1c,
  CALLER: 0x33, CALLVALUE: 0x34, CALLDATALOAD: 0x35, CODECOPY: 0x39, TIMESTAMP: 0x42,
  POP: 0x50, MSTORE: 0x52, SLOAD: 0x54, SSTORE: 0x55, JUMP: 0x56, JUMPI: 0x57, JUMPDEST: 0x5b,
  DUP1: 0x80, DUP2: 0x81, DUP3: 0x82, SWAP1: 0x90, LOG3: 0xa3, RETURN: 0xf3, REVERT: 0xfd,
} as const;

export type Op = keyof typeof opcodes;
/** An opcode, a constant to push, a jump target (`@label`) to push, or a label definition (`label:`). */
export type Item = Op | bigint | `@${string}` | `${string}:`;

export function assemble(items: Item[]): Uint8Array {
  const sizeOf = (item: Item) =>
    typeof item === "bigint" ? 1 + pushWidth(item) : item.startsWith("@") ? 3 : item.endsWith(":") ? 1 : 1;
  const labels = new Map<string, number>();
  let pc = 0;
  for (const item of items) {
    if (typeof item === "string" && item.endsWith(":")) labels.set(item.slice(0, -1), pc);
    pc += sizeOf(item);
  }
  const out: number[] = [];
  for (const item of items) {
    if (typeof item === "bigint") {
      const width = pushWidth(item);
      out.push(0x5f + width, ...bytesOf(item, width));
    } else if (item.startsWith("@")) {
      const target = labels.get(item.slice(1));
      if (target === undefined) throw new Error(`unknown label ${item}`);
      out.push(0x61, target >> 8, target & 0xff);
    } else if (item.endsWith(":")) {
      out.push(opcodes.JUMPDEST);
    } else {
      out.push(opcodes[item as Op]);
    }
  }
  return Uint8Array.from(out);
}

function pushWidth(value: bigint): number {
  if (value < 0n || value >= 1n << 256n) throw new Error("constant out of range");
  let width = 1;
  while (value >= 1n << BigInt(8 * width)) width++;
  return width;
}

function bytesOf(value: bigint, width: number): number[] {
  const bytes: number[] = [];
  for (let i = width - 1; i >= 0; i--) bytes.push(Number((value >> BigInt(8 * i)) & 0xffn));
  return bytes;
}

/** Deployment code: runs `constructor`, then returns `runtime` as the contract's code. */
export function deployable(constructor: Item[], runtime: Uint8Array): Hex {
  // The prologue's size is fixed (PUSH2 operands), so the runtime's offset is known up front.
  const prologue = (offset: number) => assemble([...constructor, BigInt(runtime.length), BigInt(offset), 0n, "CODECOPY", BigInt(runtime.length), 0n, "RETURN"]);
  let code = prologue(0xffff);
  for (let i = 0; i < 4 && prologue(code.length).length !== code.length; i++) code = prologue(code.length);
  code = prologue(code.length);
  const all = new Uint8Array(code.length + runtime.length);
  all.set(code);
  all.set(runtime, code.length);
  return toHex(all);
}
