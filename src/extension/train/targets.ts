// What a job's command is about when it starts: the model named by the explorer, the editor's
// title bar or the active model card, and data files found where datasets usually are.
import * as path from 'node:path';
import * as vscode from 'vscode';
import { isFile } from './form-checks';

/** Data files named as datasets usually are, beside the model or at the workspace's top. */
export function findData(model: string | undefined): { data?: string; eval?: string } {
  const dirs = [model ? path.dirname(model) : undefined, vscode.workspace.workspaceFolders?.[0]?.uri.fsPath].filter((d): d is string => !!d);
  const first = (names: string[]) => {
    for (const d of dirs) for (const n of names) for (const ext of ['jsonl', 'tsv', 'csv']) if (isFile(path.join(d, `${n}.${ext}`))) return path.join(d, `${n}.${ext}`);
    return undefined;
  };
  return { data: first(['train']), eval: first(['dev', 'eval', 'validation']) };
}

/** The ONNX model a command is about: the explorer's or editor title's file, else the active model card's. */
export function targetModel(arg: unknown): string | undefined {
  if (arg instanceof vscode.Uri && arg.scheme === 'file' && arg.fsPath.toLowerCase().endsWith('.onnx')) return arg.fsPath;
  const input = vscode.window.tabGroups.activeTabGroup.activeTab?.input;
  if (input instanceof vscode.TabInputCustom && input.uri.scheme === 'file' && input.uri.fsPath.toLowerCase().endsWith('.onnx')) return input.uri.fsPath;
  return undefined;
}
