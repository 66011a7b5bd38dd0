// The Browse… button of a job form's path field: the dialog opens beside what the field holds
// (else beside the form's model), filtered to the field's kinds of file.
import { existsSync } from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { isFile } from './form-checks';

export interface BrowseField {
  label: string;
  /** Ask where to write (a save dialog) rather than what to read. */
  save?: boolean;
  /** A folder rather than a file, with this label on the dialog's button. */
  folder?: string;
  filters?: Record<string, string[]>;
}

/** The path the user picked, or undefined when the dialog was dismissed. */
export async function browseField(field: BrowseField, current: string, near: string): Promise<string | undefined> {
  const from = current || near;
  const folder = from ? vscode.Uri.file(existsSync(from) && !isFile(from) ? from : path.dirname(from)) : vscode.workspace.workspaceFolders?.[0]?.uri;
  if (field.folder) {
    const picked = await vscode.window.showOpenDialog({ canSelectMany: false, canSelectFiles: false, canSelectFolders: true, defaultUri: folder, title: field.label, openLabel: field.folder });
    return picked?.[0]?.fsPath;
  }
  if (field.save) {
    const target = await vscode.window.showSaveDialog({ defaultUri: current ? vscode.Uri.file(current) : folder, filters: field.filters, title: field.label });
    return target?.fsPath;
  }
  const picked = await vscode.window.showOpenDialog({ canSelectMany: false, canSelectFiles: true, canSelectFolders: false, defaultUri: folder, filters: field.filters, title: field.label });
  return picked?.[0]?.fsPath;
}
