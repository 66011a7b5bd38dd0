import * as vscode from 'vscode';

/**
 * Opens the comparison flow (Compare Models..., its settings form included) on a job's input and
 * output: the original first, so it is the baseline the output's speed-up and sizes are read
 * against. Fine-tuning offers it for the original and the tuned model; Distill for teacher and
 * student, Quantize for the float and the int8 model. `accuracyRuns` are the run files that
 * evaluated them (the job's own record), for the panel's accuracy columns.
 */
export function compareModels(files: readonly string[], accuracyRuns?: readonly string[]): void {
  void vscode.commands.executeCommand('compressionLab.compareModels', undefined, files.map((f) => vscode.Uri.file(f)), accuracyRuns?.length ? { accuracyRuns: [...accuracyRuns] } : undefined);
}
