// One line of a generated file's comment (compose file or nginx config), made safe. Pure; used by
// the compose emitter (model/emit.ts) and the nginx renderer (proxy/nginx.ts).

/**
 * Text made safe for one comment line (YAML or nginx): control characters and the line breaks YAML 1.1
 * readers honour (NEL, LS, PS) become `\uXXXX`, so a file name cannot end the comment and add lines; so do
 * what YAML 1.1 refuses raw (U+FFFE, U+FFFF) and lone surrogates (which UTF-8 cannot hold).
 */
export function commentText(s: string): string {
  return s.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029\ufffe\uffff]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}
