/** A model or tokenizer file that cannot be read as what it claims to be. Names the file. */
export class ModelFormatError extends Error {
  readonly file: string;
  constructor(file: string, problem: string) {
    super(`${file}: ${problem}`);
    this.name = 'ModelFormatError';
    this.file = file;
  }
}
