// Translations for the JS modules. msgids are English; the server sends only the strings that
// differ for the page's language, so English pages carry no catalogue at all.
import { catalogue } from './boot.js';

export const lang = document.documentElement.lang || 'en';

// t("Waiting {time}", {time: "5 min"}) — placeholders in braces, like the Python side.
export function t(msgid, vars) {
  let text = catalogue[msgid] || msgid;
  if (vars) {
    text = text.replace(/\{(\w+)\}/g, (whole, key) => (key in vars ? String(vars[key]) : whole));
  }
  return text;
}
