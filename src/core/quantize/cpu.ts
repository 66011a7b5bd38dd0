// Which weight range is safe on this CPU. onnxruntime multiplies the run-time-quantized uint8
// activations by the int8 weights. With VNNI (VPDPBUSD) the four u8 x s8 products of a group go
// straight into an int32 accumulator. Without it (AVX2, and AVX-512 before VNNI) the kernel uses
// VPMADDUBSW, which adds each pair of products into an int16 with saturation: 2 x 255 x 127 =
// 64,770 does not fit in 32,767, so large activations times large weights are clipped and the
// result is wrong. onnxruntime's advice there is reduce_range (7-bit weights: 2 x 255 x 64 =
// 32,640 fits), or uint8 weights (the u8 x u8 kernel, slower), or the session option
// session.x64quantprecision=1. ARM's dot-product instructions (SDOT/UDOT) accumulate in int32 too.
import { readFileSync } from 'node:fs';

export interface CpuFeatures {
  arch: string;
  /** Where the flags came from; 'unknown' when nothing could be read (not Linux). */
  source: '/proc/cpuinfo' | 'unknown';
  avx2: boolean;
  avx512: boolean;
  /** AVX-512 VNNI or AVX-VNNI: u8 x s8 dot products into int32. */
  vnni: boolean;
  /** ARMv8.2 dot product (asimddp). */
  armDot: boolean;
}

export interface QuantizeDefaults {
  reduceRange: boolean;
  weightType: 'int8';
  /** Why, in a sentence, for the CLI and the report. */
  why: string;
}

/** The CPU's features from /proc/cpuinfo text (the first processor's flags), or from this machine's. */
export function detectCpu(cpuinfo?: string, arch: string = process.arch): CpuFeatures {
  let text = cpuinfo;
  if (text === undefined) {
    try {
      text = readFileSync('/proc/cpuinfo', 'utf8');
    } catch {
      text = undefined;
    }
  }
  const line = text ? /^(?:flags|Features)\s*:(.*)$/m.exec(text) : null;
  const flags = new Set((line?.[1] ?? '').trim().split(/\s+/).filter(Boolean));
  return {
    arch,
    source: line ? '/proc/cpuinfo' : 'unknown',
    avx2: flags.has('avx2'),
    avx512: flags.has('avx512f') && flags.has('avx512bw'),
    vnni: flags.has('avx512_vnni') || flags.has('avx_vnni'),
    armDot: flags.has('asimddp'),
  };
}

/**
 * Full 8-bit weights where the integer kernel cannot saturate (x86 with VNNI, ARM with dot
 * products); 7-bit weights (reduce_range) everywhere else, including CPUs whose flags could not be
 * read: a little precision lost is better than clipped products on a machine we cannot see.
 */
export function quantizeDefaults(cpu: CpuFeatures = detectCpu()): QuantizeDefaults {
  if ((cpu.arch === 'x64' || cpu.arch === 'ia32') && cpu.vnni) {
    return { reduceRange: false, weightType: 'int8', why: 'this CPU has VNNI: u8 x s8 products accumulate in int32, full 8-bit weights are safe' };
  }
  if (cpu.arch === 'arm64' && cpu.armDot) {
    return { reduceRange: false, weightType: 'int8', why: 'this CPU has ARM dot-product instructions: products accumulate in int32, full 8-bit weights are safe' };
  }
  if (cpu.source === 'unknown') {
    return { reduceRange: true, weightType: 'int8', why: 'the CPU\'s features could not be read: 7-bit weights (reduce_range) in case its int8 kernel saturates (x86 without VNNI)' };
  }
  if (cpu.avx2 || cpu.avx512) {
    return { reduceRange: true, weightType: 'int8', why: 'this x86 CPU has no VNNI: its u8 x s8 kernel (VPMADDUBSW) saturates int16 pair sums, so weights use 7 bits (reduce_range)' };
  }
  return { reduceRange: true, weightType: 'int8', why: 'no VNNI or ARM dot product found: 7-bit weights (reduce_range), as onnxruntime advises where the int8 kernel may saturate' };
}
