import * as vscode from 'vscode';

/**
 * Opens the comparison flow (Compare Models..., its settings form included) on a job's input and
 * output: the original first, so it is the baseline the output's speed-up and sizes are read
 * against. Fine-tuning offers it for the original and the tuned model; Distill for teacher and student.
 */
export function compareModels(original: string, ...outputs: string[]): void {
  void vscode.commands.executeCommand('compressionLab.compareModels', undefined, [original, ...outputs].map((f) => vscode.Uri.file(f)));
}
