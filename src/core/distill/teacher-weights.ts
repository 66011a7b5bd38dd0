// The teacher's weights under Hugging Face names, for the students that start from them, and the
// student's way out as a Hugging Face folder.
import type { EncoderConfig } from '../onnx/bert-builder';
import type { ModelSpec } from '../onnx/model-spec';
import { readStateDict } from '../convert/state-dict';
import { checkHfFolder, stateDictOfSpec, writeHfFolder, type HfFolderContents } from '../convert/hf-folder';
import type { StateDict } from './students';
import type { Teacher } from './teacher';

/**
 * The teacher's config and weights by Hugging Face name, whatever wrote it (the builder,
 * PyTorch's exporter, a checkpoint). The head count comes from config.json, or else from the
 * teacher's graph, which says it when its weights cannot.
 */
export async function teacherStateDict(t: Teacher): Promise<StateDict> {
  const r = readStateDict(t.model, t.heads && !t.card.architecture.numHeads ? { overrides: { numHeads: t.heads } } : {});
  return { config: { ...r.config, numLabels: t.numLabels }, tensors: r.tensors };
}

function folderContents(spec: ModelSpec, config: EncoderConfig, tokenizer: string | undefined, sources: string[]): HfFolderContents {
  return { config, tensors: stateDictOfSpec(spec, config).tensors, tokenizerFiles: tokenizer ? [tokenizer] : [], sources };
}

/** Before any training: the folder the student will go to must be one it may be written to. */
export function checkStudentFolder(dir: string, spec: ModelSpec, config: EncoderConfig, tokenizer: string | undefined, sources: string[]): void {
  checkHfFolder(dir, folderContents(spec, config, tokenizer, sources));
}

/** Writes the student as a Hugging Face folder (config.json, model.safetensors, the tokenizer's files); returns the folder. */
export function writeStudentFolder(dir: string, spec: ModelSpec, config: EncoderConfig, tokenizer: string | undefined, sources: string[]): string {
  return writeHfFolder(dir, folderContents(spec, config, tokenizer, sources)).dir;
}
