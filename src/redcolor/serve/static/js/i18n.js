// Interface strings in the four languages alert areas are named in (he, en, ar, ru).
// Area and zone names come from the server's area data; these are only the page's own words.

export const LANGUAGES = ["he", "en", "ar", "ru"];
export const RTL = new Set(["he", "ar"]);
const STORAGE_KEY = "redcolor.lang";

const STRINGS = {
  en: {
    showOnMap: "Show on map",
    prevEvent: "Previous event",
    nextEvent: "Next event",
    listSeparator: ", ",
    title: "redcolor — live alerts",
    skip: "Skip to the alert list",
    language: "Language",
    mapLabel: "Map of alert areas. Arrow keys pan, plus and minus zoom.",
    alerts: "Alerts",
    noAlerts: "No active alerts.",
    myLocation: "My location",
    useLocation: "Use my location",
    pickOnMap: "Pick on map",
    pickHint: "Click your location on the map.",
    findArea: "Or find your area by name",
    forget: "Forget",
    locationPrivacy: "Your location is used in this browser only and never sent anywhere.",
    notInArea: "This point is in no alert area. Nearest: {name}, {km} km.",
    yourArea: "Your area",
    shelterTime: "Time to shelter",
    seconds: "{s} s",
    immediately: "immediately",
    stateNone: "No alert",
    sirenTone: "Siren tone when my area is alerted",
    stopSiren: "Stop siren",
    takeShelter: "Take shelter now",
    left: "{s} s left",
    areas: "Areas ({n})",
    andMore: "and {n} more",
    history: "History",
    window: "Period",
    lastHour: "Last hour",
    lastDay: "Last 24 hours",
    lastWeek: "Last 7 days",
    load: "Load",
    scrub: "Time in history",
    play: "Play",
    pause: "Pause",
    speed: "Speed",
    live: "Back to live",
    replaying: "Replay {time}",
    liveBadge: "Live",
    connecting: "Connecting…",
    reconnecting: "Reconnecting…",
    offline: "Offline, retrying",
    eventsLoaded: "{n} events",
    loading: "Loading…",
    geoDenied: "Location unavailable: {reason}",
    summary: "{alert} areas under alert, {pre} pre-alerted",
    stage_pre_alert: "Pre-alert",
    stage_alert: "Alert",
    stage_update: "Alert (areas added)",
    stage_ended: "Event ended",
    cat_missiles: "Rocket and missile fire",
    cat_hostile_aircraft: "Hostile aircraft intrusion",
    cat_earthquake: "Earthquake",
    cat_tsunami: "Tsunami",
    cat_infiltration: "Terrorist infiltration",
    cat_hazmat: "Hazardous materials",
    cat_radiological: "Radiological event",
    cat_general: "General alert",
    cat_pre_alert: "Early warning",
    cat_all_clear: "All clear",
    cat_drill: "Drill",
    legendAlert: "Alert",
    legendPre: "Pre-alert",
    legendEnded: "Ended",
  },
  he: {
    showOnMap: "הצג על המפה",
    prevEvent: "האירוע הקודם",
    nextEvent: "האירוע הבא",
    listSeparator: ", ",
    title: "redcolor — התרעות בזמן אמת",
    skip: "דלג לרשימת ההתרעות",
    language: "שפה",
    mapLabel: "מפת אזורי ההתרעה. חיצים להזזה, פלוס ומינוס לזום.",
    alerts: "התרעות",
    noAlerts: "אין התרעות פעילות.",
    myLocation: "המיקום שלי",
    useLocation: "השתמש במיקום שלי",
    pickOnMap: "בחר על המפה",
    pickHint: "לחצו על המיקום שלכם במפה.",
    findArea: "או חפשו את האזור לפי שם",
    forget: "שכח",
    locationPrivacy: "המיקום שלכם משמש בדפדפן זה בלבד ואינו נשלח לשום מקום.",
    notInArea: "הנקודה אינה בשום אזור התרעה. הקרוב ביותר: {name}, {km} ק״מ.",
    yourArea: "האזור שלך",
    shelterTime: "זמן התגוננות",
    seconds: "{s} שניות",
    immediately: "מיידי",
    stateNone: "אין התרעה",
    sirenTone: "צליל אזעקה כשיש התרעה באזור שלי",
    stopSiren: "עצור אזעקה",
    takeShelter: "היכנסו למרחב המוגן עכשיו",
    left: "נותרו {s} שניות",
    areas: "אזורים ({n})",
    andMore: "ועוד {n}",
    history: "היסטוריה",
    window: "תקופה",
    lastHour: "השעה האחרונה",
    lastDay: "24 השעות האחרונות",
    lastWeek: "7 הימים האחרונים",
    load: "טען",
    scrub: "זמן בהיסטוריה",
    play: "נגן",
    pause: "השהה",
    speed: "מהירות",
    live: "חזרה לשידור חי",
    replaying: "שחזור {time}",
    liveBadge: "חי",
    connecting: "מתחבר…",
    reconnecting: "מתחבר מחדש…",
    offline: "לא מחובר, מנסה שוב",
    eventsLoaded: "{n} אירועים",
    loading: "טוען…",
    geoDenied: "המיקום אינו זמין: {reason}",
    summary: "{alert} אזורים בהתרעה, {pre} בהתרעה מוקדמת",
    stage_pre_alert: "התרעה מוקדמת",
    stage_alert: "התרעה",
    stage_update: "התרעה (נוספו אזורים)",
    stage_ended: "האירוע הסתיים",
    cat_missiles: "ירי רקטות וטילים",
    cat_hostile_aircraft: "חדירת כלי טיס עוין",
    cat_earthquake: "רעידת אדמה",
    cat_tsunami: "צונאמי",
    cat_infiltration: "חדירת מחבלים",
    cat_hazmat: "חומרים מסוכנים",
    cat_radiological: "אירוע רדיולוגי",
    cat_general: "התרעה כללית",
    cat_pre_alert: "התרעה מוקדמת",
    cat_all_clear: "הסתיים",
    cat_drill: "תרגיל",
    legendAlert: "התרעה",
    legendPre: "התרעה מוקדמת",
    legendEnded: "הסתיים",
  },
  ar: {
    showOnMap: "اعرض على الخريطة",
    prevEvent: "الحدث السابق",
    nextEvent: "الحدث التالي",
    listSeparator: "، ",
    title: "redcolor — إنذارات مباشرة",
    skip: "انتقل إلى قائمة الإنذارات",
    language: "اللغة",
    mapLabel: "خريطة مناطق الإنذار. الأسهم للتحريك، زائد وناقص للتكبير.",
    alerts: "الإنذارات",
    noAlerts: "لا توجد إنذارات نشطة.",
    myLocation: "موقعي",
    useLocation: "استخدم موقعي",
    pickOnMap: "اختر على الخريطة",
    pickHint: "انقر على موقعك في الخريطة.",
    findArea: "أو ابحث عن منطقتك بالاسم",
    forget: "انسَ",
    locationPrivacy: "يُستخدم موقعك في هذا المتصفح فقط ولا يُرسل إلى أي مكان.",
    notInArea: "هذه النقطة ليست في أي منطقة إنذار. الأقرب: {name}، {km} كم.",
    yourArea: "منطقتك",
    shelterTime: "وقت الوصول إلى الملجأ",
    seconds: "{s} ثانية",
    immediately: "فورًا",
    stateNone: "لا يوجد إنذار",
    sirenTone: "صوت صفارة عند إنذار في منطقتي",
    stopSiren: "أوقف الصفارة",
    takeShelter: "ادخلوا إلى الملجأ الآن",
    left: "بقي {s} ثانية",
    areas: "المناطق ({n})",
    andMore: "و{n} أخرى",
    history: "السجل",
    window: "الفترة",
    lastHour: "الساعة الأخيرة",
    lastDay: "آخر 24 ساعة",
    lastWeek: "آخر 7 أيام",
    load: "تحميل",
    scrub: "الوقت في السجل",
    play: "تشغيل",
    pause: "إيقاف مؤقت",
    speed: "السرعة",
    live: "العودة إلى البث المباشر",
    replaying: "إعادة {time}",
    liveBadge: "مباشر",
    connecting: "جارٍ الاتصال…",
    reconnecting: "جارٍ إعادة الاتصال…",
    offline: "غير متصل، إعادة المحاولة",
    eventsLoaded: "{n} أحداث",
    loading: "جارٍ التحميل…",
    geoDenied: "الموقع غير متاح: {reason}",
    summary: "{alert} مناطق تحت الإنذار، {pre} بإنذار مبكر",
    stage_pre_alert: "إنذار مبكر",
    stage_alert: "إنذار",
    stage_update: "إنذار (أضيفت مناطق)",
    stage_ended: "انتهى الحدث",
    cat_missiles: "إطلاق صواريخ وقذائف",
    cat_hostile_aircraft: "تسلل طائرة معادية",
    cat_earthquake: "زلزال",
    cat_tsunami: "تسونامي",
    cat_infiltration: "تسلل مخربين",
    cat_hazmat: "مواد خطرة",
    cat_radiological: "حدث إشعاعي",
    cat_general: "إنذار عام",
    cat_pre_alert: "إنذار مبكر",
    cat_all_clear: "انتهى",
    cat_drill: "تمرين",
    legendAlert: "إنذار",
    legendPre: "إنذار مبكر",
    legendEnded: "انتهى",
  },
  ru: {
    showOnMap: "Показать на карте",
    prevEvent: "Предыдущее событие",
    nextEvent: "Следующее событие",
    listSeparator: ", ",
    title: "redcolor — тревоги в реальном времени",
    skip: "Перейти к списку тревог",
    language: "Язык",
    mapLabel: "Карта районов оповещения. Стрелки — сдвиг, плюс и минус — масштаб.",
    alerts: "Тревоги",
    noAlerts: "Активных тревог нет.",
    myLocation: "Моё местоположение",
    useLocation: "Определить моё местоположение",
    pickOnMap: "Выбрать на карте",
    pickHint: "Нажмите на своё место на карте.",
    findArea: "Или найдите свой район по названию",
    forget: "Забыть",
    locationPrivacy: "Ваше местоположение используется только в этом браузере и никуда не отправляется.",
    notInArea: "Эта точка не входит ни в один район. Ближайший: {name}, {km} км.",
    yourArea: "Ваш район",
    shelterTime: "Время до укрытия",
    seconds: "{s} с",
    immediately: "немедленно",
    stateNone: "Тревоги нет",
    sirenTone: "Сирена при тревоге в моём районе",
    stopSiren: "Остановить сирену",
    takeShelter: "Немедленно в укрытие",
    left: "осталось {s} с",
    areas: "Районы ({n})",
    andMore: "и ещё {n}",
    history: "История",
    window: "Период",
    lastHour: "Последний час",
    lastDay: "Последние 24 часа",
    lastWeek: "Последние 7 дней",
    load: "Загрузить",
    scrub: "Время в истории",
    play: "Воспроизвести",
    pause: "Пауза",
    speed: "Скорость",
    live: "Вернуться к прямому эфиру",
    replaying: "Повтор {time}",
    liveBadge: "Онлайн",
    connecting: "Подключение…",
    reconnecting: "Переподключение…",
    offline: "Нет связи, повторная попытка",
    eventsLoaded: "событий: {n}",
    loading: "Загрузка…",
    geoDenied: "Местоположение недоступно: {reason}",
    summary: "Под тревогой районов: {alert}, предупреждено: {pre}",
    stage_pre_alert: "Предварительное оповещение",
    stage_alert: "Тревога",
    stage_update: "Тревога (добавлены районы)",
    stage_ended: "Событие завершено",
    cat_missiles: "Ракетный обстрел",
    cat_hostile_aircraft: "Проникновение враждебного летательного аппарата",
    cat_earthquake: "Землетрясение",
    cat_tsunami: "Цунами",
    cat_infiltration: "Проникновение террористов",
    cat_hazmat: "Опасные вещества",
    cat_radiological: "Радиологическое событие",
    cat_general: "Общая тревога",
    cat_pre_alert: "Раннее предупреждение",
    cat_all_clear: "Отбой",
    cat_drill: "Учения",
    legendAlert: "Тревога",
    legendPre: "Предупреждение",
    legendEnded: "Завершено",
  },
};

/** The visitor's language: the remembered choice, else the browser's, else English. */
export function initialLanguage(storage = window.localStorage, navigatorLanguages = navigator.languages) {
  const saved = storage.getItem(STORAGE_KEY);
  if (LANGUAGES.includes(saved)) return saved;
  for (const tag of navigatorLanguages || []) {
    const base = tag.slice(0, 2).toLowerCase();
    if (LANGUAGES.includes(base)) return base;
  }
  return "en";
}

export function rememberLanguage(lang, storage = window.localStorage) {
  storage.setItem(STORAGE_KEY, lang);
}

/** Translate `key` into `lang`, filling `{name}` placeholders from `params`. */
export function t(lang, key, params = {}) {
  const text = (STRINGS[lang] && STRINGS[lang][key]) ?? STRINGS.en[key] ?? key;
  return text.replace(/\{(\w+)\}/g, (_, name) => String(params[name] ?? ""));
}

/** A category's name in `lang`; a category this page has no words for is shown as sent. */
export function categoryName(lang, category) {
  return `cat_${category}` in STRINGS.en ? t(lang, `cat_${category}`) : String(category);
}

/** An area's name in `lang` (falls back to English, then Hebrew, then the id). */
export function areaName(props, lang) {
  if (!props) return "";
  return props[`name_${lang}`] || props.name_en || props.name_he || String(props.id);
}

/** Format Unix seconds as a local clock time in the language's conventions. */
export function clock(lang, unixS) {
  return new Date(unixS * 1000).toLocaleTimeString(lang, { hour12: false });
}

/** Apply the language to the document: lang and dir attributes and every data-i18n element. */
export function applyLanguage(lang, root = document) {
  const html = root.documentElement;
  html.lang = lang;
  html.dir = RTL.has(lang) ? "rtl" : "ltr";
  root.title = t(lang, "title");
  for (const el of root.querySelectorAll("[data-i18n]")) {
    el.textContent = t(lang, el.dataset.i18n);
  }
  for (const el of root.querySelectorAll("[data-i18n-label]")) {
    el.setAttribute("aria-label", t(lang, el.dataset.i18nLabel));
  }
  for (const el of root.querySelectorAll("[data-i18n-placeholder]")) {
    el.setAttribute("placeholder", t(lang, el.dataset.i18nPlaceholder));
  }
}
