// Country names and ISO codes (the API speaks ISO 3166-1 alpha-2; the map geometry uses numeric ids).
import countries from 'i18n-iso-countries';
import en from 'i18n-iso-countries/langs/en.json';

countries.registerLocale(en);

export function countryName(alpha2) {
  if (!alpha2) return 'Unknown';
  return countries.getName(alpha2, 'en', { select: 'official' }) ? countries.getName(alpha2, 'en') : alpha2;
}

/** world-atlas feature id ("840") -> "US" */
export function alpha2FromNumeric(numeric) {
  return countries.numericToAlpha2(String(numeric).padStart(3, '0')) || null;
}
