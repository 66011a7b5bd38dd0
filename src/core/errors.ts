// Errors a user can act on: a file of theirs that cannot be used, an option out of range, a
// model the engine cannot handle. Each says which file (when there is one) and what is wrong, and
// carries a stable code that a caller (the CLI, the editor, a test) can branch on without parsing
// the message. Anything else thrown is an internal error: a bug, reported with its stack.

/** What a user error becomes when it crosses a process or frame boundary. */
export interface UserErrorInfo {
  name: string;
  code: string;
  problem: string;
  file?: string;
  /** Where in the file, when the error knows (a data row, a byte offset). */
  line?: number;
  /** The option at fault, in the core's own naming (camelCase), for OptionsError. */
  option?: string;
}

export class UserError extends Error {
  readonly code: string;
  readonly problem: string;
  readonly file?: string;
  readonly line?: number;
  readonly option?: string;

  constructor(code: string, problem: string, file?: string, extra: { line?: number; option?: string } = {}) {
    super(file ? `${file}${extra.line !== undefined ? `:${extra.line}` : ''}: ${problem}` : problem);
    this.name = 'UserError';
    this.code = code;
    this.problem = problem;
    if (file !== undefined) this.file = file;
    if (extra.line !== undefined) this.line = extra.line;
    if (extra.option !== undefined) this.option = extra.option;
  }

  toInfo(): UserErrorInfo {
    return {
      name: this.name, code: this.code, problem: this.problem,
      ...(this.file !== undefined ? { file: this.file } : {}),
      ...(this.line !== undefined ? { line: this.line } : {}),
      ...(this.option !== undefined ? { option: this.option } : {}),
    };
  }

  /** The error again on this side of a boundary: still a UserError, with the same name and fields. */
  static fromInfo(info: UserErrorInfo): UserError {
    const e = new UserError(info.code, info.problem, info.file, { line: info.line, option: info.option });
    e.name = info.name;
    return e;
  }
}

export function isUserError(e: unknown): e is UserError {
  return e instanceof UserError;
}

/**
 * A setting out of range or two that conflict. `option` uses the core's names (camelCase: maxSteps);
 * messages mention options as `option 'maxSteps'`, which each surface rewords as it names them
 * (the CLI as --max-steps).
 */
export class OptionsError extends UserError {
  constructor(option: string, problem: string) {
    super('bad-option', `option '${option}' ${problem}`, undefined, { option });
    this.name = 'OptionsError';
  }
}

/** A readable model that this engine cannot work on (subgraphs, an unknown layout, a missing signal). */
export class UnsupportedModelError extends UserError {
  constructor(file: string, problem: string) {
    super('unsupported-model', problem, file);
    this.name = 'UnsupportedModelError';
  }
}

/** An output path the job must not write: it is one of its inputs, or a folder. */
export class OutputConflictError extends UserError {
  constructor(file: string, problem: string) {
    super('output-conflict', problem, file);
    this.name = 'OutputConflictError';
  }
}
