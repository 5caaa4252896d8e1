/**
 * Colour for people at a terminal, none for pipes and files, none when NO_COLOR is set
 * (https://no-color.org: any non-empty value).
 */
type Paint = (text: string) => string;

export interface Styles {
  prompt: Paint;
  echo: Paint;
  error: Paint;
  warning: Paint;
  status: Paint;
  strong: Paint;
}

const sgr =
  (open: number, close: number): Paint =>
  (text) =>
    `\x1b[${open}m${text}\x1b[${close}m`;
const plain: Paint = (text) => text;

export function stylesFor(
  isTTY: boolean | undefined,
  env: Record<string, string | undefined>,
): Styles {
  const on = isTTY === true && !env.NO_COLOR;
  return {
    prompt: on ? sgr(36, 39) : plain, // cyan
    echo: on ? sgr(32, 39) : plain, // green
    error: on ? sgr(31, 39) : plain, // red
    warning: on ? sgr(33, 39) : plain, // yellow
    status: on ? sgr(2, 22) : plain, // dim
    strong: on ? sgr(1, 22) : plain, // bold
  };
}
