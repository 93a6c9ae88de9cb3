// Interface texts in Dutch (the default) and English. The area explanations come from the API
// in Dutch; in English the page words them itself from the same numbers (see panel.js).

/** @type {Record<'nl' | 'en', Record<string, string | ((...args: any[]) => string)>>} */
const TEXTS = {
  nl: {
    skip: 'Naar de bediening',
    'search.label': 'Zoek een gemeente, wijk of buurt',
    'search.placeholder': 'Zoek gemeente, wijk of buurt (naam of code)',
    'search.none': 'Niets gevonden',
    'search.results': 'Zoekresultaten',
    'help.link': 'Hoe werkt de score?',
    'search.failed': 'Zoeken lukt nu niet',
    api: 'Gegevens (API)',
    'api.long': 'Alle gegevens via de API (ook te bekijken in de browser)',
    'map.label': 'Kaart',
    'map.zoomin': 'Inzoomen',
    'map.zoomout': 'Uitzoomen',
    close: 'Sluiten',
    'tune.title': 'Instellingen',
    'level.label': 'Gebieden op de kaart',
    'level.buurten': 'Buurten',
    'level.wijken': 'Wijken',
    'level.gemeenten': 'Gemeenten',
    'kind.gemeenten': 'gemeente', 'kind.wijken': 'wijk', 'kind.buurten': 'buurt',
    'walk.label': 'Loopafstand',
    'minp.label': 'Minimum aantal deelnemers',
    'weights.legend': 'Hoe zwaar telt elk criterium?',
    'weight.off': 'telt niet mee',
    'weight.participants.note': 'Telt altijd mee (minstens 1): zonder deelnemers kan geen cirkel starten.',
    reset: 'Standaardinstellingen',
    'legend.title': 'Wat betekenen de kleuren?',
    'legend.geschikt': 'Geschikt: hier kan een Buurtcirkel starten (genoeg deelnemers en een hoge score)',
    'legend.kansrijk': 'Kansrijk: misschien, kijk naar de toelichting',
    'legend.ongeschikt': 'Ongeschikt: nu niet de beste plek',
    'legend.geen': 'Geen score: water, of geen gegevens',
    'legend.shade': 'Hoe donkerder de kleur, hoe hoger de score (0-100)',
    'legend.cluster': 'Groep mogelijke deelnemers op loopafstand (afgerond, minstens 5 mensen)',
    'legend.site': 'Kandidaat-plek van het gekozen gebied: middelpunt met de loopafstand als straal',
    'legend.place': 'Ontmoetingsplek (wijkcentrum, bibliotheek, kerk)',
    'legend.circle': 'Bestaande Buurtcirkel',
    'legend.gemeente': 'Gemeentegrens',
    'list.title': 'Gebieden in beeld',
    'list.count': (/** @type {number} */ n, /** @type {number} */ shown) => shown < n ? `${n} gebieden in beeld; de beste ${shown} staan hieronder. Zoom in voor meer.` : `${n} gebieden in beeld.`,
    'list.none': 'Geen gebieden in beeld. Zoom uit of zoek een plaats.',
    'col.naam': 'Naam', 'col.score': 'Score', 'col.categorie': 'Categorie', 'col.rang': 'Rang',
    'col.deelnemers': 'Deelnemers', 'col.volledigheid': 'Volledig',
    'list.scope': 'Toon', 'list.inview': 'gebieden in beeld', 'list.csv': 'CSV van deze gemeente',
    'list.gemeente': (/** @type {number} */ n, /** @type {string} */ g) => `${n} ${n === 1 ? 'gebied' : 'gebieden'} in ${g}, op rang.`,
    'list.gate': 'hoge score, maar minder dan 5 deelnemers',
    'changes.line': (/** @type {number} */ n, /** @type {string} */ lv, /** @type {number} */ up, /** @type {number} */ down) => n === 0
      ? `Geen ${lv === 'wijken' ? 'wijk' : 'buurt'} van categorie veranderd.`
      : `${n} ${n === 1 ? (lv === 'wijken' ? 'wijk' : 'buurt') : lv} van categorie veranderd: ${up} ▲ beter, ${down} ▼ slechter.`,
    'change.up': 'categorie beter geworden', 'change.down': 'categorie slechter geworden',
    'banner.custom': (/** @type {number} */ n) => `U kijkt met eigen instellingen: ${n} ${n === 1 ? 'instelling wijkt' : 'instellingen wijken'} af van de standaard.`,
    'banner.scenario': (/** @type {string} */ s, /** @type {number} */ n) => `Scenario "${s}": ${n} ${n === 1 ? 'instelling wijkt' : 'instellingen wijken'} af van de standaard.`,
    'banner.reset': 'Terug naar standaard', 'banner.copy': 'Kopieer link', 'banner.copied': 'Link gekopieerd.',
    'banner.copyfailed': (/** @type {string} */ u) => `Kopiëren lukt niet in deze browser; de link is: ${u}`,
    'scenario.name': 'Naam van dit scenario', 'scenario.compare': 'Vergelijk met standaard', 'scenario.standard': 'Standaard',
    'scenario.unnamed': 'Dit scenario', 'scenario.caption': (/** @type {string} */ lv) => `Aantal ${lv} per categorie en de beste vijf`,
    'list.incomplete': 'te weinig gegevens bekend',
    'bucket.<5': 'minder dan 5', 'bucket.>12': 'meer dan 12',
    'cat.geschikt': 'geschikt', 'cat.kansrijk': 'kansrijk', 'cat.ongeschikt': 'ongeschikt', 'cat.geen': 'geen score',
    'panel.rank': (/** @type {number} */ r, /** @type {number} */ n, /** @type {string} */ level, /** @type {string} */ gm) => `${r}e van ${n} ${level} in ${gm}`,
    'panel.rank.gemeente': (/** @type {number} */ r, /** @type {number} */ n) => `${r}e van ${n} gemeenten`,
    'panel.norank': 'Geen rang (geen score)',
    'panel.why': 'Waarom deze score?',
    'panel.criterion': 'Criterium', 'panel.explain': 'Toelichting', 'panel.weight': 'Gewicht', 'panel.contribution': 'Bijdrage',
    'panel.figures': 'Kerncijfers (CBS)',
    'panel.participants': 'Mogelijke deelnemers binnen loopafstand',
    'panel.metric.streets': 'Loopafstand gemeten langs de straten (OpenStreetMap).',
    'panel.metric.line': 'Loopafstand hemelsbreed gemeten (geen stratennetwerk geladen).',
    'panel.notes': 'Let op',
    'panel.add': 'Op de shortlist',
    'panel.remove': 'Van de shortlist',
    'panel.zoom': 'Zoom naar dit gebied',
    'panel.apilink': 'Bekijk in de API',
    'panel.loading': 'Gegevens van het gebied laden',
    'panel.failed': 'Het gebied kon niet worden geladen',
    unknown: 'onbekend',
    'unknown.cbs': 'onbekend (CBS geheim)', 'unknown.notloaded': 'onbekend (niet geladen)', 'unknown.noclients': 'onbekend (geen cliëntgegevens)',
    'unknown.plain': 'onbekend',
    'cause.CBS: niet gepubliceerd': 'CBS: niet gepubliceerd', 'cause.niet geladen': 'niet geladen', 'cause.niet van toepassing': 'niet van toepassing',
    'cat.onvoldoende gegevens': 'onvoldoende gegevens',
    'panel.estimated': (n) => `geschat: ca. ${n}`,
    'panel.completeness': (c, p) => `Volledigheid: ${c} criteria, ${p}% van het gewicht`,
    'panel.stabiel': (p) => `stabiel (${p}% van de trekkingen)`, 'panel.gevoelig': (p) => `gevoelig (blijft in ${p}% van de trekkingen)`,
    'shortlist.title': 'Shortlist',
    'shortlist.empty': 'Nog leeg. Klik op een gebied en kies "Op de shortlist".',
    'shortlist.compare': 'Vergelijk',
    'shortlist.report': 'Rapport (afdrukken)',
    'shortlist.remove': 'Verwijder',
    'shortlist.exporting': 'Shortlist ophalen voor export',
    'compare.title': 'Shortlist naast elkaar',
    'upload.title': 'Cliëntgegevens uploaden (beheer)',
    'upload.privacy': 'Wat gebeurt er met de gegevens? Van elke cliënt bewaren we alleen de plek, afgerond op een raster van 25 meter, en eventueel de doelgroep. Namen, adressen, geboortedata en alle andere kolommen worden niet opgeslagen. De kaart toont nooit iemand afzonderlijk: alleen aantallen per gebied in klassen (minder dan 5, 5-8, 9-12, meer dan 12) en groepen van minstens 5 mensen, vergroot en afgerond op 100 meter.',
    'upload.token': 'Toegangscode van de beheerder',
    'upload.file': 'CSV-bestand met cliëntlocaties',
    'upload.submit': 'Uploaden',
    'upload.busy': 'Bezig met uploaden en controleren',
    'upload.ok': 'Gelukt. De kaart is bijgewerkt.',
    'upload.failed': 'Niet gelukt; er is niets veranderd.',
    'upload.rows': 'Ingelezen rijen',
    'upload.dropped': 'Niet opgeslagen kolommen',
    'upload.warnings': 'Waarschuwingen',
    'upload.notes': 'Opmerkingen',
    'upload.personal': (/** @type {number} */ n) => `Let op: dit bestand bevat persoonsgegevens (${n === 1 ? 'kolom' : 'kolommen'} hieronder). Die zijn niet opgeslagen, maar het bestand zelf is persoonsgegevens: deel alleen plek en doelgroep en verwijder het bestand waar het niet hoort.`,
    'upload.nonedropped': 'geen',
    'upload.original': 'Oorspronkelijke melding van de server',
    'upload.summary': (/** @type {number | null} */ c, /** @type {number} */ g) => `${c === null ? '' : `${c} ${c === 1 ? 'groep' : 'groepen'}, `}${g} ${g === 1 ? 'gebied' : 'gebieden'} geschikt met de huidige instellingen.`,
    'upload.required': 'Nodig per regel: de plek als kolommen x en y (RD New, in meters) of lon en lat (WGS84); eventueel een kolom doelgroep. Andere kolommen worden niet opgeslagen.',
    'upload.template': 'Voorbeeldbestand (CSV) downloaden',
    'upload.skip': 'Importeer alleen de goede regels (sla ongeldige regels over)',
    sources: 'Bron: CBS Wijk- en Buurtkaart en Kerncijfers (CC BY 4.0), Kadaster; cliëntgegevens van de zorgorganisatie, geanonimiseerd.',
    'status.loading': 'Gegevens laden',
    'status.dataloading': 'De server laadt de gegevens nog; even geduld',
    'status.down': 'De server is niet bereikbaar. Controleer of de Buurtcirkel Atlas draait en probeer het opnieuw.',
    'status.error': 'Er ging iets mis',
    'status.basemap': 'De achtergrondkaart is niet bereikbaar; de kaart toont een effen achtergrond.',
    'note.wijken': (/** @type {number} */ g, /** @type {number} */ p) => `De kaart toont wijken: buurten zijn geladen voor ${g} ${g === 1 ? 'gemeente' : 'gemeenten'} en beslaan ${p}% van dit beeld. Kies "Buurten" bij Instellingen om ze te zien.`,
    'notice.close': 'Melding sluiten',
    'popup.place': 'Ontmoetingsplek', 'popup.circle': 'Bestaande Buurtcirkel',
    'near.title': 'In de buurt',
    'near.place': (/** @type {string} */ n, /** @type {string} */ k, /** @type {string} */ d) => `Dichtstbijzijnde ontmoetingsplek: ${n}${k ? ` (${k})` : ''}, ${d}`,
    'near.noplace': 'Geen ontmoetingsplek bekend',
    'near.circle': (/** @type {string} */ n, /** @type {string} */ d) => `Bestaande Buurtcirkel: ${n}, ${d}`,
    'near.nocircle': 'Geen bestaande Buurtcirkel binnen 2 km',
    'near.inside': 'in dit gebied', 'near.m': (/** @type {string} */ m) => `${m} m van dit gebied`, 'near.km': (/** @type {string} */ k) => `${k} km van dit gebied`,
    'near.sites': (/** @type {number} */ n) => (n === 1 ? '1 kandidaat-plek in dit gebied (op de kaart)' : `${n} kandidaat-plekken in dit gebied (op de kaart)`),
    'tip.score': 'score', 'tip.noscore': 'geen score',
    'status.nomaplib': 'De kaartbibliotheek ontbreekt. Voer scripts/setup uit (npm ci in web/).',
    'status.nowebgl': 'Deze browser kan de kaart niet tekenen (geen WebGL). De lijst en het zoeken werken wel.',
    'report.print': 'Afdrukken of opslaan als PDF',
    'report.back': 'Terug naar de kaart',
    'report.title': 'Waar starten we de volgende Buurtcirkel?',
    'report.meta': (/** @type {string} */ date, /** @type {number} */ n) => `Rapport van de Buurtcirkel Atlas, ${date}. ${n} gebieden op de shortlist.`,
    'report.map': 'Kaart',
    'report.snapshot': 'De kaart zoals die werd getoond bij het maken van dit rapport.',
    'report.outline': 'Ligging van de gebieden op de shortlist (nummers als in de tabel).',
    'report.table': 'Shortlist naast elkaar',
    'report.explain': 'Toelichting per gebied',
    'report.params': 'Instellingen van de analyse',
    'report.sources': 'Bronnen',
    'report.privacy': 'Cliëntgegevens zijn geanonimiseerd (raster van 25 meter) en worden alleen getoond als aantallen in klassen per gebied en als afgeronde groepen van minstens 5 mensen.',
    'report.empty': 'De shortlist is leeg. Voeg op de kaart gebieden toe.',
    'report.default': 'standaard',
    'report.t_geschikt': 'Score vanaf welke een gebied geschikt heet',
    'report.t_kansrijk': 'Score vanaf welke een gebied kansrijk heet',
    'report.setting': 'Instelling', 'report.value': 'Waarde',
    'report.completeness': 'Volledigheid', 'report.completeness.value': (/** @type {string} */ c, /** @type {number} */ p) => `${c} criteria bekend, ${p}% van het gewicht`,
    'report.robustness': 'Robuustheid', 'report.nearest': 'Dichtstbijzijnde ontmoetingsplek',
    'report.afweging': 'Afweging', 'report.afweging.hint': 'Typ hier de afweging van het projectteam (wordt meegedrukt).',
    yes: 'ja', no: 'nee',
    metres: 'm',
  },
  en: {
    skip: 'Skip to the controls',
    'search.label': 'Search a municipality, district or neighbourhood',
    'search.placeholder': 'Search gemeente, wijk or buurt (name or code)',
    'search.none': 'Nothing found',
    'search.results': 'Search results',
    'help.link': 'How does the score work? (Dutch)',
    'search.failed': 'Search is not available right now',
    api: 'Data (API)',
    'api.long': 'All data in the browsable API',
    'map.label': 'Map',
    'map.zoomin': 'Zoom in',
    'map.zoomout': 'Zoom out',
    close: 'Close',
    'tune.title': 'Settings',
    'level.label': 'Areas on the map',
    'level.buurten': 'Buurten (neighbourhoods)',
    'level.wijken': 'Wijken (districts)',
    'level.gemeenten': 'Gemeenten',
    'kind.gemeenten': 'municipality', 'kind.wijken': 'district', 'kind.buurten': 'neighbourhood',
    'walk.label': 'Walking distance',
    'minp.label': 'Minimum number of participants',
    'weights.legend': 'How much does each criterion count?',
    'weight.off': 'not counted',
    'weight.participants.note': 'Always counts (at least 1): without participants no circle can start.',
    reset: 'Default settings',
    'legend.title': 'What do the colours mean?',
    'legend.geschikt': 'Suitable: a Buurtcirkel can start here (enough participants and a high score)',
    'legend.kansrijk': 'Promising: maybe, see the explanation',
    'legend.ongeschikt': 'Unsuitable: not the best place now',
    'legend.geen': 'No score: water, or no data',
    'legend.shade': 'The darker the colour, the higher the score (0-100)',
    'legend.cluster': 'Group of potential participants within walking distance (rounded, at least 5 people)',
    'legend.site': 'Candidate site of the chosen area: centre with the walking distance as radius',
    'legend.place': 'Meeting place (community centre, library, church)',
    'legend.circle': 'Existing Buurtcirkel',
    'legend.gemeente': 'Municipal boundary',
    'list.title': 'Areas in view',
    'list.count': (/** @type {number} */ n, /** @type {number} */ shown) => shown < n ? `${n} areas in view; the best ${shown} are listed. Zoom in for more.` : `${n} areas in view.`,
    'list.none': 'No areas in view. Zoom out or search a place.',
    'col.naam': 'Name', 'col.score': 'Score', 'col.categorie': 'Category', 'col.rang': 'Rank',
    'col.deelnemers': 'Participants', 'col.volledigheid': 'Complete',
    'list.scope': 'Show', 'list.inview': 'areas in view', 'list.csv': 'CSV of this municipality',
    'list.gemeente': (/** @type {number} */ n, /** @type {string} */ g) => `${n} ${n === 1 ? 'area' : 'areas'} in ${g}, by rank.`,
    'list.gate': 'high score, but fewer than 5 participants',
    'changes.line': (/** @type {number} */ n, /** @type {string} */ lv, /** @type {number} */ up, /** @type {number} */ down) => n === 0
      ? 'No area changed category.'
      : `${n} ${n === 1 ? 'area' : 'areas'} changed category: ${up} ▲ better, ${down} ▼ worse.`,
    'change.up': 'category improved', 'change.down': 'category worsened',
    'banner.custom': (/** @type {number} */ n) => `You are using your own settings: ${n} ${n === 1 ? 'setting differs' : 'settings differ'} from the standard.`,
    'banner.scenario': (/** @type {string} */ s, /** @type {number} */ n) => `Scenario "${s}": ${n} ${n === 1 ? 'setting differs' : 'settings differ'} from the standard.`,
    'banner.reset': 'Back to standard', 'banner.copy': 'Copy link', 'banner.copied': 'Link copied.',
    'banner.copyfailed': (/** @type {string} */ u) => `Copying does not work in this browser; the link is: ${u}`,
    'scenario.name': 'Name of this scenario', 'scenario.compare': 'Compare with standard', 'scenario.standard': 'Standard',
    'scenario.unnamed': 'This scenario', 'scenario.caption': (/** @type {string} */ lv) => `Number of ${lv} per category and the best five`,
    'list.incomplete': 'too little data known',
    'bucket.<5': 'fewer than 5', 'bucket.>12': 'more than 12',
    'cat.geschikt': 'suitable', 'cat.kansrijk': 'promising', 'cat.ongeschikt': 'unsuitable', 'cat.geen': 'no score',
    'panel.rank': (/** @type {number} */ r, /** @type {number} */ n, /** @type {string} */ level, /** @type {string} */ gm) => `rank ${r} of ${n} ${level} in ${gm}`,
    'panel.rank.gemeente': (/** @type {number} */ r, /** @type {number} */ n) => `rank ${r} of ${n} municipalities`,
    'panel.norank': 'No rank (no score)',
    'panel.why': 'Why this score?',
    'panel.criterion': 'Criterion', 'panel.explain': 'Explanation', 'panel.weight': 'Weight', 'panel.contribution': 'Points',
    'panel.figures': 'Key figures (CBS)',
    'panel.participants': 'Potential participants within walking distance',
    'panel.metric.streets': 'Walking distance measured along the streets (OpenStreetMap).',
    'panel.metric.line': 'Walking distance measured in a straight line (no street network loaded).',
    'panel.notes': 'Note',
    'panel.add': 'Add to shortlist',
    'panel.remove': 'Remove from shortlist',
    'panel.zoom': 'Zoom to this area',
    'panel.apilink': 'View in the API',
    'panel.loading': 'Loading the area',
    'panel.failed': 'The area could not be loaded',
    unknown: 'unknown',
    'unknown.cbs': 'unknown (suppressed by CBS)', 'unknown.notloaded': 'unknown (not loaded)', 'unknown.noclients': 'unknown (no client data)',
    'unknown.plain': 'unknown',
    'cause.CBS: niet gepubliceerd': 'not published by CBS', 'cause.niet geladen': 'not loaded', 'cause.niet van toepassing': 'not applicable',
    'cat.onvoldoende gegevens': 'insufficient data',
    'panel.estimated': (n) => `estimated: about ${n}`,
    'panel.completeness': (c, p) => `Completeness: ${c} criteria, ${p}% of the weight`,
    'panel.stabiel': (p) => `stable (${p}% of the draws)`, 'panel.gevoelig': (p) => `sensitive (holds in ${p}% of the draws)`,
    'shortlist.title': 'Shortlist',
    'shortlist.empty': 'Empty. Click an area and choose "Add to shortlist".',
    'shortlist.compare': 'Compare',
    'shortlist.report': 'Report (print)',
    'shortlist.remove': 'Remove',
    'shortlist.exporting': 'Fetching the shortlist for export',
    'compare.title': 'Shortlist side by side',
    'upload.title': 'Upload client data (admin)',
    'upload.privacy': 'What happens to the data? For each client only the location, rounded to a 25 metre grid, and optionally the target group are kept. Names, addresses, birth dates and all other columns are not stored. The map never shows anyone individually: only numbers per area in classes (fewer than 5, 5-8, 9-12, more than 12) and groups of at least 5 people, enlarged and rounded to 100 metres.',
    'upload.token': 'Admin token',
    'upload.file': 'CSV file with client locations',
    'upload.submit': 'Upload',
    'upload.busy': 'Uploading and checking',
    'upload.ok': 'Done. The map has been updated.',
    'upload.failed': 'Failed; nothing was changed.',
    'upload.rows': 'Rows read',
    'upload.dropped': 'Columns not stored',
    'upload.warnings': 'Warnings',
    'upload.notes': 'Notes',
    'upload.personal': (/** @type {number} */ n) => `Note: this file holds personal data (${n === 1 ? 'column' : 'columns'} below). They were not stored, but the file itself is personal data: share only location and target group, and delete the file where it should not be.`,
    'upload.nonedropped': 'none',
    'upload.original': 'Original message of the server',
    'upload.summary': (/** @type {number | null} */ c, /** @type {number} */ g) => `${c === null ? '' : `${c} ${c === 1 ? 'group' : 'groups'}, `}${g} ${g === 1 ? 'area' : 'areas'} suitable with the current settings.`,
    'upload.required': 'Needed per line: the location as columns x and y (RD New, metres) or lon and lat (WGS84); optionally a column doelgroep. Other columns are not stored.',
    'upload.template': 'Download an example file (CSV)',
    'upload.skip': 'Import only the good lines (skip invalid ones)',
    sources: 'Source: CBS Wijk- en Buurtkaart and Kerncijfers (CC BY 4.0), Kadaster; client data of the care organisation, anonymised.',
    'status.loading': 'Loading data',
    'status.dataloading': 'The server is still loading its data; please wait',
    'status.down': 'The server cannot be reached. Check that Buurtcirkel Atlas is running and try again.',
    'status.error': 'Something went wrong',
    'status.basemap': 'The background map cannot be reached; the map shows a plain background.',
    'note.wijken': (/** @type {number} */ g, /** @type {number} */ p) => `The map shows wijken (districts): buurten are loaded for ${g} ${g === 1 ? 'municipality' : 'municipalities'} and cover ${p}% of this view. Choose "Buurten" in the settings to see them.`,
    'notice.close': 'Close message',
    'popup.place': 'Meeting place', 'popup.circle': 'Existing Buurtcirkel',
    'near.title': 'Nearby',
    'near.place': (/** @type {string} */ n, /** @type {string} */ k, /** @type {string} */ d) => `Nearest meeting place: ${n}${k ? ` (${k})` : ''}, ${d}`,
    'near.noplace': 'No meeting place known',
    'near.circle': (/** @type {string} */ n, /** @type {string} */ d) => `Existing Buurtcirkel: ${n}, ${d}`,
    'near.nocircle': 'No existing Buurtcirkel within 2 km',
    'near.inside': 'in this area', 'near.m': (/** @type {string} */ m) => `${m} m from this area`, 'near.km': (/** @type {string} */ k) => `${k} km from this area`,
    'near.sites': (/** @type {number} */ n) => (n === 1 ? '1 candidate site in this area (on the map)' : `${n} candidate sites in this area (on the map)`),
    'tip.score': 'score', 'tip.noscore': 'no score',
    'status.nomaplib': 'The map library is missing. Run scripts/setup (npm ci in web/).',
    'status.nowebgl': 'This browser cannot draw the map (no WebGL). The list and search still work.',
    'report.print': 'Print or save as PDF',
    'report.back': 'Back to the map',
    'report.title': 'Where do we start our next Buurtcirkel?',
    'report.meta': (/** @type {string} */ date, /** @type {number} */ n) => `Buurtcirkel Atlas report, ${date}. ${n} areas on the shortlist.`,
    'report.map': 'Map',
    'report.snapshot': 'The map as shown when this report was made.',
    'report.outline': 'Location of the shortlisted areas (numbers as in the table).',
    'report.table': 'Shortlist side by side',
    'report.explain': 'Explanation per area',
    'report.params': 'Analysis settings',
    'report.sources': 'Sources',
    'report.privacy': 'Client data is anonymised (25 metre grid) and shown only as numbers in classes per area and as rounded groups of at least 5 people.',
    'report.empty': 'The shortlist is empty. Add areas on the map.',
    'report.default': 'default',
    'report.t_geschikt': 'Score from which an area is suitable',
    'report.t_kansrijk': 'Score from which an area is promising',
    'report.setting': 'Setting', 'report.value': 'Value',
    'report.completeness': 'Completeness', 'report.completeness.value': (/** @type {string} */ c, /** @type {number} */ p) => `${c} criteria known, ${p}% of the weight`,
    'report.robustness': 'Robustness', 'report.nearest': 'Nearest meeting place',
    'report.afweging': 'Considerations', 'report.afweging.hint': 'Type the project team\'s considerations here (they are printed).',
    yes: 'yes', no: 'no',
    metres: 'm',
  },
};

/** @type {'nl' | 'en'} */
let lang = 'nl';

/** @param {string} l */
export function setLang(l) {
  lang = l === 'en' ? 'en' : 'nl';
  document.documentElement.lang = lang;
}

export function getLang() {
  return lang;
}

/**
 * The text for `key` in the current language; functions are called with `args`.
 * @param {string} key
 * @param {...(string | number | null | undefined)} args
 * @returns {string}
 */
export function t(key, ...args) {
  const v = TEXTS[lang][key] ?? TEXTS.nl[key] ?? key;
  return typeof v === 'function' ? v(...args) : v;
}

/**
 * Fills every element with data-i18n (text), data-i18n-placeholder and data-i18n-aria.
 * @param {ParentNode} [root]
 */
export function translatePage(root = document) {
  for (const el of root.querySelectorAll('[data-i18n]')) el.textContent = t(/** @type {HTMLElement} */ (el).dataset.i18n || '');
  for (const el of root.querySelectorAll('[data-i18n-placeholder]')) /** @type {HTMLInputElement} */ (el).placeholder = t(/** @type {HTMLElement} */ (el).dataset.i18nPlaceholder || '');
  for (const el of root.querySelectorAll('[data-i18n-aria]')) el.setAttribute('aria-label', t(/** @type {HTMLElement} */ (el).dataset.i18nAria || ''));
}

const nf = () => new Intl.NumberFormat(lang === 'nl' ? 'nl-NL' : 'en-GB', { maximumFractionDigits: 1 });

/**
 * A number in the page's language, or "onbekend" for a missing value (the caller says why
 * when it knows: {@link unknownFigure}).
 * @param {number | null | undefined} v
 * @param {string} [unit]
 */
export function num(v, unit = '') {
  if (v === null || v === undefined || Number.isNaN(v)) return t('unknown');
  return nf().format(v) + unit;
}

/** @param {string | null | undefined} c */
export function category(c) {
  return t(`cat.${c ?? 'geen'}`);
}

/**
 * A participant bucket in words: "meer dan 12", "minder dan 5" (the API's ">12", "<5"); "—"
 * for none.
 * @param {string | null | undefined} b
 */
export function bucketText(b) {
  if (!b) return '—';
  const k = `bucket.${b}`;
  const w = t(k);
  return w === k ? b : w;
}

/**
 * Why a key figure is missing, from the explanation of the criterion of the same name when
 * there is one: "onbekend (CBS geheim)" only for a value CBS suppressed, "onbekend (niet
 * geladen)" for a figure nobody imported, else plain "onbekend".
 * @param {string} field
 * @param {{ criterion: string, missing?: boolean, cause?: string | null }[] | undefined} criteria
 */
export function unknownFigure(field, criteria) {
  const c = criteria?.find((x) => x.criterion === field && x.missing);
  if (c?.cause === 'CBS: niet gepubliceerd') return t('unknown.cbs');
  if (c?.cause === 'niet geladen') return t('unknown.notloaded');
  return t('unknown');
}

/**
 * The API's Dutch sentences write buckets as ">12" and "<5"; the page says "meer dan 12" and
 * "minder dan 5".
 * @param {string} text
 */
export function bucketsInWords(text) {
  return text.replace(/(^|[\s(])([<>])\s?(\d+)\b/g, (_, pre, op, n) => `${pre}${t(`bucket.${op}${n}`) === `bucket.${op}${n}` ? `${op}${n}` : t(`bucket.${op}${n}`)}`);
}
