"""Public instructions per category and stage, in Hebrew, English, Arabic and Russian.

Written for redcolor (not copied from any authority's wording). Every text tells people what to
do now; the ``ended`` text is the explicit release the public asks for instead of a timer, and
the ``cancelled`` text is the correction prepared in advance for an alert sent in error (so
nobody has to compose one under pressure, the lesson of Hawaii, 13 January 2018).

:func:`instructions_for` is the one source of the texts; :data:`TEMPLATES` names each
(category, stage) pair with a key (``"<category>.<stage>"``) so the operator desk can offer
them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from redcolor.model import CATEGORIES, STAGES, Category, Stage

_MISSILES_PRE = {
    "he": "צפויות התרעות באזורך בדקות הקרובות. הישארו בקרבת מרחב מוגן והיו קשובים להנחיות.",
    "en": "Alerts are expected in your area in the coming minutes. Stay close to a protected"
    " space and follow further instructions.",
    "ar": "من المتوقع صدور إنذارات في منطقتك خلال الدقائق القادمة. ابقوا بالقرب من مكان محمي"
    " واتبعوا التعليمات.",
    "ru": "В ближайшие минуты в вашем районе ожидаются тревоги. Оставайтесь рядом с защищённым"
    " помещением и следите за указаниями.",
}
_MISSILES_ALERT = {
    "he": "ירי רקטות וטילים. היכנסו עכשיו למרחב המוגן והישארו בו עד להודעה על סיום האירוע.",
    "en": "Rocket and missile fire. Enter a protected space now and stay there until the event"
    " is declared over.",
    "ar": "إطلاق صواريخ وقذائف. ادخلوا الآن إلى المكان المحمي وابقوا فيه حتى الإعلان عن انتهاء"
    " الحدث.",
    "ru": "Ракетный обстрел. Немедленно войдите в защищённое помещение и оставайтесь там до"
    " объявления об окончании события.",
}
_AIRCRAFT_PRE = {
    "he": "כלי טיס עוין מתקרב לאזורך. הישארו בקרבת מרחב מוגן והיו קשובים להנחיות.",
    "en": "A hostile aircraft is approaching your area. Stay close to a protected space and"
    " follow further instructions.",
    "ar": "طائرة معادية تقترب من منطقتك. ابقوا بالقرب من مكان محمي واتبعوا التعليمات.",
    "ru": "К вашему району приближается вражеский летательный аппарат. Оставайтесь рядом с"
    " защищённым помещением и следите за указаниями.",
}
_AIRCRAFT_ALERT = {
    "he": "חדירת כלי טיס עוין. היכנסו עכשיו למרחב המוגן וסגרו דלתות וחלונות עד להודעה על סיום"
    " האירוע.",
    "en": "Hostile aircraft intrusion. Enter a protected space now and close doors and windows"
    " until the event is declared over.",
    "ar": "تسلل طائرة معادية. ادخلوا الآن إلى المكان المحمي وأغلقوا الأبواب والنوافذ حتى الإعلان"
    " عن انتهاء الحدث.",
    "ru": "Проникновение вражеского летательного аппарата. Немедленно войдите в защищённое"
    " помещение и закройте двери и окна до объявления об окончании события.",
}
_UPDATE = {
    "he": "ההתרעה באזורך עודכנה. המשיכו לפעול לפי ההנחיות שניתנו.",
    "en": "The alert in your area has been updated. Keep following the instructions already given.",
    "ar": "تم تحديث الإنذار في منطقتك. استمروا في اتباع التعليمات التي صدرت.",
    "ru": "Тревога в вашем районе обновлена. Продолжайте выполнять полученные указания.",
}
_ENDED = {
    "he": "האירוע הסתיים באזורך. ניתן לצאת מהמרחב המוגן.",
    "en": "The event in your area has ended. You may leave the protected space.",
    "ar": "انتهى الحدث في منطقتك. يمكنكم مغادرة المكان المحمي.",
    "ru": "Событие в вашем районе завершено. Можно покинуть защищённое помещение.",
}


_EARTHQUAKE_PRE = {
    "he": "ייתכן שתורגש רעידת אדמה באזורך בקרוב. היו מוכנים לצאת מהמבנה או למצוא מחסה.",
    "en": "An earthquake may be felt in your area soon. Be ready to leave the building or to take"
    " cover.",
    "ar": "قد يُشعر بزلزال في منطقتك قريبًا. كونوا مستعدين لمغادرة المبنى أو للاحتماء.",
    "ru": "В вашем районе вскоре может ощущаться землетрясение. Будьте готовы выйти из здания или"
    " укрыться.",
}
_EARTHQUAKE_ALERT = {
    "he": "רעידת אדמה. צאו מהמבנה לשטח פתוח אם אפשר לעשות זאת מהר; אם לא, היכנסו למרחב המוגן או"
    " לחדר המדרגות, הרחק מחלונות.",
    "en": "Earthquake. Leave the building for open ground if you can do so quickly; if not, go"
    " into a protected space or the stairwell, away from windows.",
    "ar": "زلزال. اخرجوا من المبنى إلى مكان مفتوح إن أمكن ذلك بسرعة؛ وإلا فادخلوا إلى المكان المحمي"
    " أو إلى بيت الدرج، بعيدًا عن النوافذ.",
    "ru": "Землетрясение. Если можете быстро, выйдите из здания на открытое место; если нет —"
    " войдите в защищённое помещение или на лестничную клетку, подальше от окон.",
}
_TSUNAMI_PRE = {
    "he": "ייתכן שגל צונאמי יגיע לחוף. צאו מחוף הים והתכוננו להתרחק מהים.",
    "en": "A tsunami may reach the coast. Leave the beach and be ready to move inland.",
    "ar": "قد تصل موجة تسونامي إلى الساحل. غادروا الشاطئ وكونوا مستعدين للابتعاد عن البحر.",
    "ru": "Волна цунами может достичь побережья. Покиньте пляж и будьте готовы уйти вглубь суши.",
}
_TSUNAMI_ALERT = {
    "he": "סכנת צונאמי. התרחקו עכשיו מהים, אל פנים הארץ או אל מקום גבוה, ואל תחזרו לחוף עד"
    " להודעה על סיום האירוע.",
    "en": "Tsunami danger. Move away from the sea now, inland or to high ground, and do not return"
    " to the shore until the event is declared over.",
    "ar": "خطر تسونامي. ابتعدوا الآن عن البحر إلى الداخل أو إلى مكان مرتفع، ولا تعودوا إلى الشاطئ"
    " حتى الإعلان عن انتهاء الحدث.",
    "ru": "Угроза цунами. Немедленно уйдите от моря вглубь суши или на возвышенность и не"
    " возвращайтесь на берег до объявления об окончании события.",
}
_INFILTRATION_PRE = {
    "he": "חשד לחדירה בקרבת אזורך. הישארו בתוך מבנה, נעלו את הדלתות והיו קשובים להנחיות.",
    "en": "Suspected infiltration near your area. Stay indoors, lock the doors and follow further"
    " instructions.",
    "ar": "اشتباه بتسلل قرب منطقتك. ابقوا داخل المباني وأقفلوا الأبواب واتبعوا التعليمات.",
    "ru": "Подозрение на проникновение рядом с вашим районом. Оставайтесь в помещении, заприте"
    " двери и следите за указаниями.",
}
_INFILTRATION_ALERT = {
    "he": "חדירת מחבלים. היכנסו עכשיו למבנה, נעלו דלתות וחלונות, התרחקו מהם ושמרו על שקט עד"
    " להודעה על סיום האירוע.",
    "en": "Terrorist infiltration. Get into a building now, lock doors and windows, keep away from"
    " them and stay quiet until the event is declared over.",
    "ar": "تسلل مخربين. ادخلوا الآن إلى مبنى، وأقفلوا الأبواب والنوافذ وابتعدوا عنها والتزموا"
    " الهدوء حتى الإعلان عن انتهاء الحدث.",
    "ru": "Проникновение террористов. Немедленно войдите в здание, заприте двери и окна,"
    " держитесь от них подальше и соблюдайте тишину до объявления об окончании события.",
}
_HAZMAT_PRE = {
    "he": "אירוע חומרים מסוכנים בקרבת אזורך. הישארו בקרבת מבנה והיו מוכנים להסתגר בו.",
    "en": "A hazardous materials event near your area. Stay close to a building and be ready to"
    " shut yourself in.",
    "ar": "حادث مواد خطرة قرب منطقتك. ابقوا بالقرب من مبنى وكونوا مستعدين للاحتماء داخله.",
    "ru": "Рядом с вашим районом — инцидент с опасными веществами. Оставайтесь рядом со зданием и"
    " будьте готовы укрыться в нём.",
}
_HAZMAT_ALERT = {
    "he": "דליפת חומרים מסוכנים. היכנסו עכשיו למבנה, סגרו דלתות, חלונות ומערכות אוורור, והישארו"
    " בפנים עד להודעה על סיום האירוע.",
    "en": "Hazardous materials leak. Go indoors now, close doors, windows and ventilation, and stay"
    " inside until the event is declared over.",
    "ar": "تسرب مواد خطرة. ادخلوا الآن إلى مبنى، وأغلقوا الأبواب والنوافذ وأجهزة التهوية، وابقوا"
    " في الداخل حتى الإعلان عن انتهاء الحدث.",
    "ru": "Утечка опасных веществ. Немедленно войдите в помещение, закройте двери, окна и"
    " вентиляцию и оставайтесь внутри до объявления об окончании события.",
}
_RADIOLOGICAL_PRE = {
    "he": "חשש לאירוע רדיולוגי בקרבת אזורך. הישארו בקרבת מבנה והיו קשובים להנחיות.",
    "en": "A suspected radiological event near your area. Stay close to a building and follow"
    " further instructions.",
    "ar": "اشتباه بحادث إشعاعي قرب منطقتك. ابقوا بالقرب من مبنى واتبعوا التعليمات.",
    "ru": "Подозрение на радиационный инцидент рядом с вашим районом. Оставайтесь рядом со"
    " зданием и следите за указаниями.",
}
_RADIOLOGICAL_ALERT = {
    "he": "אירוע רדיולוגי. היכנסו עכשיו לחדר פנימי או למרחב המוגן, סגרו חלונות ואוורור, והישארו"
    " בפנים עד להודעה על סיום האירוע.",
    "en": "Radiological event. Go into an inner room or a protected space now, close windows and"
    " ventilation, and stay inside until the event is declared over.",
    "ar": "حادث إشعاعي. ادخلوا الآن إلى غرفة داخلية أو إلى المكان المحمي، وأغلقوا النوافذ"
    " والتهوية، وابقوا في الداخل حتى الإعلان عن انتهاء الحدث.",
    "ru": "Радиационный инцидент. Немедленно войдите во внутреннюю комнату или защищённое"
    " помещение, закройте окна и вентиляцию и оставайтесь внутри до объявления об окончании"
    " события.",
}
_GENERAL_PRE = {
    "he": "ייתכן שאירוע חירום ישפיע על אזורך. היו ערניים וקשובים להנחיות.",
    "en": "An emergency may affect your area. Stay alert and follow further instructions.",
    "ar": "قد تؤثر حالة طوارئ على منطقتك. ابقوا متيقظين واتبعوا التعليمات.",
    "ru": "Чрезвычайная ситуация может затронуть ваш район. Будьте внимательны и следите за"
    " указаниями.",
}
_GENERAL_ALERT = {
    "he": "אירוע חירום באזורך. פעלו לפי הנחיות הרשויות והמשיכו להתעדכן.",
    "en": "Emergency in your area. Follow the instructions of the authorities and stay tuned.",
    "ar": "حالة طوارئ في منطقتك. اتبعوا تعليمات السلطات وتابعوا المستجدات.",
    "ru": "Чрезвычайная ситуация в вашем районе. Выполняйте указания властей и следите за"
    " сообщениями.",
}
_DRILL_PRE = {
    "he": "בקרוב יתחיל תרגיל באזורך. אין זו התרעה אמיתית.",
    "en": "A drill will start in your area soon. This is not a real alert.",
    "ar": "سيبدأ تمرين في منطقتك قريبًا. هذا ليس إنذارًا حقيقيًا.",
    "ru": "Скоро в вашем районе начнутся учения. Это не настоящая тревога.",
}
_DRILL_ALERT = {
    "he": "זהו תרגיל ואין זו התרעה אמיתית. תרגלו כניסה למרחב המוגן כפי שהייתם עושים בהתרעה אמיתית.",
    "en": "This is a drill, not a real alert. Practise going to the protected space as you would"
    " in a real alert.",
    "ar": "هذا تمرين وليس إنذارًا حقيقيًا. تدربوا على الدخول إلى المكان المحمي كما تفعلون في"
    " إنذار حقيقي.",
    "ru": "Это учения, а не настоящая тревога. Потренируйтесь пройти в защищённое помещение так же,"
    " как при настоящей тревоге.",
}
_DRILL_UPDATE = {
    "he": "התרגיל באזורך נמשך. אין זו התרעה אמיתית.",
    "en": "The drill in your area continues. This is not a real alert.",
    "ar": "التمرين في منطقتك مستمر. هذا ليس إنذارًا حقيقيًا.",
    "ru": "Учения в вашем районе продолжаются. Это не настоящая тревога.",
}
_DRILL_ENDED = {
    "he": "התרגיל באזורך הסתיים.",
    "en": "The drill in your area has ended.",
    "ar": "انتهى التمرين في منطقتك.",
    "ru": "Учения в вашем районе завершены.",
}
_ENDED_OUTDOORS = {
    "he": "האירוע באזורך הסתיים. ניתן לחזור לשגרה ולהמשיך לפעול לפי הנחיות הרשויות.",
    "en": "The event in your area has ended. You may return to your routine; keep following the"
    " authorities' instructions.",
    "ar": "انتهى الحدث في منطقتك. يمكنكم العودة إلى الروتين مع متابعة تعليمات السلطات.",
    "ru": "Событие в вашем районе завершено. Можно вернуться к обычной жизни, следуя указаниям"
    " властей.",
}
SENT_IN_ERROR = {
    "he": "התרעה זו נשלחה בטעות. אין סכנה באזורך וניתן לחזור לשגרה. אנו מתנצלים.",
    "en": "This alert was sent in error. There is no danger in your area and you may return to"
    " your routine. We apologise.",
    "ar": "أُرسل هذا الإنذار عن طريق الخطأ. لا يوجد خطر في منطقتك ويمكنكم العودة إلى"
    " الروتين. نعتذر.",
    "ru": "Эта тревога была отправлена по ошибке. Опасности в вашем районе нет, можно вернуться к"
    " обычной жизни. Приносим извинения.",
}
"""The correction prepared in advance: the text of every ``cancelled`` event."""

# (pre-alert, alert, ended) per category; ``update`` has one text (the drill its own)
_BY_CATEGORY: dict[str, tuple[dict[str, str], dict[str, str], dict[str, str]]] = {
    "missiles": (_MISSILES_PRE, _MISSILES_ALERT, _ENDED),
    "pre_alert": (_MISSILES_PRE, _MISSILES_ALERT, _ENDED),
    "all_clear": (_ENDED, _ENDED, _ENDED),
    "hostile_aircraft": (_AIRCRAFT_PRE, _AIRCRAFT_ALERT, _ENDED),
    "earthquake": (_EARTHQUAKE_PRE, _EARTHQUAKE_ALERT, _ENDED_OUTDOORS),
    "tsunami": (_TSUNAMI_PRE, _TSUNAMI_ALERT, _ENDED_OUTDOORS),
    "infiltration": (_INFILTRATION_PRE, _INFILTRATION_ALERT, _ENDED_OUTDOORS),
    "hazmat": (_HAZMAT_PRE, _HAZMAT_ALERT, _ENDED_OUTDOORS),
    "radiological": (_RADIOLOGICAL_PRE, _RADIOLOGICAL_ALERT, _ENDED_OUTDOORS),
    "general": (_GENERAL_PRE, _GENERAL_ALERT, _ENDED_OUTDOORS),
    "drill": (_DRILL_PRE, _DRILL_ALERT, _DRILL_ENDED),
}


def instructions_for(category: Category, stage: Stage) -> dict[str, str]:
    """The four-language instruction texts for an event of ``category`` at ``stage``."""
    if stage == "cancelled":
        return dict(SENT_IN_ERROR)
    pre, alert, ended = _BY_CATEGORY[category]
    if stage == "update":
        return dict(_DRILL_UPDATE if category == "drill" else _UPDATE)
    return dict({"pre_alert": pre, "alert": alert, "ended": ended}[stage])


@dataclass(frozen=True, slots=True)
class Template:
    """A prepared instruction the desk offers: ``key`` ``"<category>.<stage>"``, its texts."""

    key: str
    category: Category
    stage: Stage
    text: Mapping[str, str]


EXERCISE_MARK = {"he": "תרגיל", "en": "EXERCISE", "ar": "تمرين", "ru": "УЧЕНИЯ"}
"""The word that heads every text of an exercise, in each language."""


def marked_exercise(texts: Mapping[str, str]) -> dict[str, str]:
    """``texts`` with the EXERCISE mark of each language in front, so that no channel (push,
    CAP, MQTT, the stream) can carry an exercise's words as if they were a real alert's."""
    out = {}
    for lang, text in texts.items():
        mark = EXERCISE_MARK.get(lang, EXERCISE_MARK["en"])
        out[lang] = text if text.startswith(mark) else f"{mark}: {text}"
    return out


TEMPLATES: Mapping[str, Template] = {
    f"{c}.{s}": Template(f"{c}.{s}", c, s, instructions_for(c, s))
    for c in CATEGORIES
    for s in STAGES
}
"""Every (category, stage) pair's texts under its key."""
