"""Public instructions per category and stage, in Hebrew, English, Arabic and Russian.

Written for redcolor (not copied from any authority's wording). Every text tells people what to
do now; the ``ended`` text is the explicit release the public asks for instead of a timer.
"""

from __future__ import annotations

from redcolor.model import Category, Stage

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


def instructions_for(category: Category, stage: Stage) -> dict[str, str]:
    """The four-language instruction texts for an event of ``category`` at ``stage``."""
    if stage == "ended":
        return dict(_ENDED)
    if stage == "update":
        return dict(_UPDATE)
    aircraft = category == "hostile_aircraft"
    if stage == "pre_alert":
        return dict(_AIRCRAFT_PRE if aircraft else _MISSILES_PRE)
    return dict(_AIRCRAFT_ALERT if aircraft else _MISSILES_ALERT)
