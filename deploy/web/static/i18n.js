// Strings as [English, Russian, Uzbek (Latin)], kept side by side so a missing translation
// shows in review. English is the fallback for browsers that prefer none of the three.
const LANGS = ['en', 'ru', 'uz'];
const S = {
  language: ['Language', 'Язык', 'Til'],
  loading: ['Loading…', 'Загрузка…', 'Yuklanmoqda…'],
  retry: ['Try again', 'Повторить', 'Qayta urinish'],
  optional: ['(optional)', '(необязательно)', '(ixtiyoriy)'],
  error_generic: [
    'Something went wrong. Please try again.',
    'Что-то пошло не так. Попробуйте ещё раз.',
    'Nimadir xato ketdi. Qaytadan urinib ko‘ring.',
  ],
  error_network: [
    'No connection to the server. Check your internet and try again.',
    'Нет связи с сервером. Проверьте интернет и попробуйте снова.',
    'Server bilan aloqa yo‘q. Internetni tekshirib, qayta urinib ko‘ring.',
  ],
  invalid_title: ['This sticker is not valid', 'Этот стикер недействителен', 'Bu stiker yaroqsiz'],
  invalid_text: [
    'Check the QR code, or leave a note for the car owner.',
    'Проверьте QR-код или оставьте записку владельцу автомобиля.',
    'QR kodni tekshiring yoki avtomobil egasiga xat qoldiring.',
  ],
  car: ['Car', 'Автомобиль', 'Avtomobil'],
  plate: ['Plate number', 'Госномер', 'Davlat raqami'],
  owner: ['Owner', 'Владелец', 'Egasi'],
  call: ['Call', 'Позвонить', 'Qo‘ng‘iroq qilish'],
  contact_title: ['Contact the owner', 'Связаться с владельцем', 'Avtomobil egasi bilan bog‘lanish'],
  contact_text: [
    'The owner keeps their details private, but you can write to them here.',
    'Владелец скрыл свои данные, но вы можете написать ему здесь.',
    'Egasi ma’lumotlarini yashirgan, lekin unga shu yerda yozishingiz mumkin.',
  ],
  activate_title: ['Activate your sticker', 'Активируйте стикер', 'Stikerni faollashtiring'],
  activate_text: [
    'This sticker is not linked to anyone yet. If it is on your car, create your account.',
    'Этот стикер ещё ни к кому не привязан. Если он на вашем автомобиле, создайте аккаунт.',
    'Bu stiker hali hech kimga bog‘lanmagan. Agar u sizning avtomobilingizda bo‘lsa, hisob yarating.',
  ],
  f_phone_number: ['Phone number', 'Номер телефона', 'Telefon raqami'],
  f_password: ['Password', 'Пароль', 'Parol'],
  f_full_name: ['Your name', 'Ваше имя', 'Ismingiz'],
  f_phone_number_2: ['Second phone', 'Второй телефон', 'Qo‘shimcha telefon'],
  f_car_model: ['Car model', 'Модель автомобиля', 'Avtomobil modeli'],
  f_car_plate_number: ['Plate number', 'Госномер', 'Davlat raqami'],
  f_instagram: ['Instagram', 'Instagram', 'Instagram'],
  f_telegram: ['Telegram', 'Telegram', 'Telegram'],
  f_whatsapp: ['WhatsApp', 'WhatsApp', 'WhatsApp'],
  f_is_profile_public: [
    'Show my profile to people who scan the sticker',
    'Показывать мой профиль тем, кто сканирует стикер',
    'Stikerni skanerlaganlarga profilimni ko‘rsatish',
  ],
  activate_btn: ['Activate', 'Активировать', 'Faollashtirish'],
  activated: [
    'Sticker activated. Log in in the app to read messages.',
    'Стикер активирован. Войдите в приложение, чтобы читать сообщения.',
    'Stiker faollashtirildi. Xabarlarni o‘qish uchun ilovaga kiring.',
  ],
  open_app: ['Open the app', 'Открыть приложение', 'Ilovani ochish'],
  chat_title: ['Message the owner', 'Написать владельцу', 'Egasiga yozish'],
  chat_text: [
    'The owner gets your message right away. Your phone number stays hidden.',
    'Владелец сразу получит сообщение. Ваш номер телефона останется скрытым.',
    'Xabaringiz egasiga darhol yetkaziladi. Telefon raqamingiz ko‘rinmaydi.',
  ],
  visitor_name: ['Your name', 'Ваше имя', 'Ismingiz'],
  quick: ['Quick messages', 'Быстрые сообщения', 'Tezkor xabarlar'],
  q_blocking: [
    'You are blocking my car',
    'Вы перекрыли выезд моей машине',
    'Mashinamning yo‘lini to‘sib qo‘ygansiz',
  ],
  q_lights: ['Your lights are on', 'У вас включены фары', 'Faralaringiz yoniq qolgan'],
  q_window: ['Your window is open', 'У вас открыто окно', 'Oynangiz ochiq qolgan'],
  q_alarm: [
    'Your car alarm is going off',
    'У вашей машины сработала сигнализация',
    'Mashinangiz signalizatsiyasi chalinmoqda',
  ],
  q_call: ['Please call me', 'Пожалуйста, позвоните мне', 'Iltimos, menga qo‘ng‘iroq qiling'],
  message: ['Message', 'Сообщение', 'Xabar'],
  send: ['Send', 'Отправить', 'Yuborish'],
  sending: ['Sending…', 'Отправляется…', 'Yuborilmoqda…'],
  delivered: ['Delivered', 'Доставлено', 'Yetkazildi'],
  failed: ['Not sent', 'Не отправлено', 'Yuborilmadi'],
  seen: ['Seen', 'Просмотрено', 'Ko‘rildi'],
  typing: ['typing…', 'печатает…', 'yozmoqda…'],
  typing_who: ['{who} is typing…', '{who} печатает…', '{who} yozmoqda…'],
  too_long: [
    'The message is too long (at most 4096 characters).',
    'Сообщение слишком длинное (не более 4096 символов).',
    'Xabar juda uzun (ko‘pi bilan 4096 belgi).',
  ],
  connecting: ['Connecting…', 'Подключение…', 'Ulanmoqda…'],
  online: ['Connected', 'Подключено', 'Ulandi'],
  offline: ['Reconnecting…', 'Переподключение…', 'Qayta ulanmoqda…'],
  chat_ended: [
    'This conversation has ended. Send a message to start a new one.',
    'Этот диалог завершён. Отправьте сообщение, чтобы начать новый.',
    'Bu suhbat tugagan. Yangisini boshlash uchun xabar yuboring.',
  ],
  no_messages: ['No messages yet.', 'Сообщений пока нет.', 'Hozircha xabarlar yo‘q.'],
  visitor: ['Visitor', 'Посетитель', 'Mehmon'],
  you: ['You', 'Вы', 'Siz'],
  owner_label: ['Owner', 'Владелец', 'Egasi'],
  login_title: ['Owner login', 'Вход для владельца', 'Egasi uchun kirish'],
  bad_login: [
    'Invalid phone number or password.',
    'Неверный номер телефона или пароль.',
    'Telefon raqami yoki parol noto‘g‘ri.',
  ],
  login_btn: ['Log in', 'Войти', 'Kirish'],
  logout: ['Log out', 'Выйти', 'Chiqish'],
  throttled: [
    'Too many attempts. Try again in {s} s.',
    'Слишком много попыток. Повторите через {s} с.',
    'Urinishlar juda ko‘p. {s} soniyadan keyin qayta urinib ko‘ring.',
  ],
  session_expired: [
    'Your session has expired. Please log in again.',
    'Сессия истекла. Войдите снова.',
    'Sessiya tugadi. Qaytadan kiring.',
  ],
  inbox: ['Messages', 'Сообщения', 'Xabarlar'],
  no_rooms: [
    'No conversations yet. When someone scans your sticker and writes, it appears here.',
    'Диалогов пока нет. Когда кто-то отсканирует ваш стикер и напишет, диалог появится здесь.',
    'Hozircha suhbatlar yo‘q. Kimdir stikeringizni skanerlab yozsa, shu yerda paydo bo‘ladi.',
  ],
  back: ['Back', 'Назад', 'Orqaga'],
  unread: ['{n} unread', 'Непрочитанных: {n}', '{n} ta o‘qilmagan'],
  profile: ['Profile', 'Профиль', 'Profil'],
  save: ['Save', 'Сохранить', 'Saqlash'],
  saved: ['Saved', 'Сохранено', 'Saqlandi'],
  room_gone: ['This conversation is not available.', 'Этот диалог недоступен.', 'Bu suhbat mavjud emas.'],
  // The owner's controls over a conversation.
  room_actions: ['Conversation actions', 'Действия с диалогом', 'Suhbat amallari'],
  close_chat: ['Close', 'Закрыть', 'Yopish'],
  reopen_chat: ['Reopen', 'Возобновить', 'Qayta ochish'],
  block: ['Block', 'Заблокировать', 'Bloklash'],
  unblock: ['Unblock', 'Разблокировать', 'Blokdan chiqarish'],
  confirm_block: [
    'Block this visitor? The chat closes and they cannot start a new one from this browser.',
    'Заблокировать этого посетителя? Диалог закроется, и он не сможет начать новый с этого браузера.',
    'Bu mehmonni bloklaysizmi? Suhbat yopiladi va u shu brauzerdan yangisini boshlay olmaydi.',
  ],
  closed: ['Closed', 'Закрыт', 'Yopilgan'],
  blocked: ['Blocked', 'Заблокирован', 'Bloklangan'],
  room_closed: [
    'Closed: the visitor can read this chat but cannot write.',
    'Закрыт: посетитель видит переписку, но не может писать.',
    'Yopilgan: mehmon suhbatni o‘qiy oladi, lekin yoza olmaydi.',
  ],
  room_blocked: [
    'Blocked: the chat is closed and this visitor cannot start a new one.',
    'Заблокирован: диалог закрыт, и посетитель не может начать новый.',
    'Bloklangan: suhbat yopilgan va bu mehmon yangisini boshlay olmaydi.',
  ],
  // The inbox's settings.
  settings: ['Sticker and notifications', 'Стикер и уведомления', 'Stiker va bildirishnomalar'],
  pause_sticker: ['Pause sticker', 'Приостановить стикер', 'Stikerni to‘xtatib qo‘yish'],
  pause_hint: [
    'While paused, nobody can start a new chat; people who scan the sticker see your public contacts instead.',
    'Пока стикер приостановлен, новый диалог начать нельзя; отсканировавшие стикер увидят ваши открытые контакты.',
    'To‘xtatilgan paytda hech kim yangi suhbat boshlay olmaydi; stikerni skanerlaganlar ochiq kontaktlaringizni ko‘radi.',
  ],
  paused_now: [
    'Paused: no new chats.',
    'Приостановлен: новых диалогов нет.',
    'To‘xtatilgan: yangi suhbatlar yo‘q.',
  ],
  notify_me: ['Notify me about new messages', 'Уведомлять о новых сообщениях', 'Yangi xabarlar haqida xabar berish'],
  push_on: [
    'Notifications are on in this browser.',
    'Уведомления в этом браузере включены.',
    'Bu brauzerda bildirishnomalar yoqilgan.',
  ],
  push_unsupported: [
    'This browser cannot show notifications.',
    'Этот браузер не умеет показывать уведомления.',
    'Bu brauzer bildirishnomalarni ko‘rsata olmaydi.',
  ],
  push_denied: [
    'Notifications are blocked in this browser’s settings.',
    'Уведомления запрещены в настройках браузера.',
    'Bildirishnomalar brauzer sozlamalarida taqiqlangan.',
  ],
  push_failed: [
    'Notifications could not be turned on. Please try again later.',
    'Не удалось включить уведомления. Попробуйте позже.',
    'Bildirishnomalarni yoqib bo‘lmadi. Keyinroq qayta urinib ko‘ring.',
  ],
  quiet_title: ['Quiet hours', 'Тихий режим', 'Jim rejim'],
  quiet_1h: ['Quiet for 1 h', 'Тихо 1 ч', '1 soat jim'],
  quiet_8h: ['Quiet for 8 h', 'Тихо 8 ч', '8 soat jim'],
  quiet_off: ['Quiet off', 'Без тишины', 'Jim rejimsiz'],
  quiet_until: [
    'No notifications until {time}.',
    'Без уведомлений до {time}.',
    '{time} gacha bildirishnomalarsiz.',
  ],
  quiet_none: ['Notifications are not silenced.', 'Уведомления не приглушены.', 'Bildirishnomalar o‘chirilmagan.'],
  // What the visitor sees when the owner refuses.
  chat_closed: [
    'The owner has closed this chat. You can read it but not write here.',
    'Владелец закрыл этот диалог. Переписку можно читать, но писать нельзя.',
    'Egasi bu suhbatni yopdi. Uni o‘qish mumkin, lekin yozib bo‘lmaydi.',
  ],
  chat_reopened: [
    'The owner has reopened this chat. You can write again.',
    'Владелец снова открыл диалог. Можно писать.',
    'Egasi suhbatni qayta ochdi. Yana yozishingiz mumkin.',
  ],
  chat_blocked: [
    'The owner has blocked this chat. You cannot write to them.',
    'Владелец заблокировал этот диалог. Написать ему нельзя.',
    'Egasi bu suhbatni blokladi. Unga yozib bo‘lmaydi.',
  ],
  chat_paused: [
    'The owner is not accepting messages right now.',
    'Владелец сейчас не принимает сообщения.',
    'Egasi hozir xabar qabul qilmayapti.',
  ],
  paused_contacts: ['You can reach them here:', 'Связаться можно так:', 'U bilan quyidagicha bog‘lanishingiz mumkin:'],
  paused_later: ['Please try again later.', 'Попробуйте позже.', 'Keyinroq qayta urinib ko‘ring.'],
  new_chat: ['Start a new chat', 'Начать новый диалог', 'Yangi suhbat boshlash'],
};
const NAMES = { uz: 'O‘zbekcha', ru: 'Русский', en: 'English' };
const KEY = 'carinfo.lang';
const listeners = [];

function stored() {
  try { return localStorage.getItem(KEY); } catch { return null; } // storage can be disabled
}

function pick() {
  const s = stored();
  if (LANGS.includes(s)) return s;
  for (const l of navigator.languages || [navigator.language || '']) {
    const base = String(l).toLowerCase().split('-')[0];
    if (LANGS.includes(base)) return base;
  }
  return 'en';
}

let current = pick();

export const lang = () => current;

export function t(key, vars) {
  const s = S[key]?.[LANGS.indexOf(current)] ?? key;
  return vars ? s.replace(/\{(\w+)\}/g, (_, k) => vars[k] ?? '') : s;
}

export function apply(root = document) {
  document.documentElement.lang = current;
  for (const el of root.querySelectorAll('[data-i18n]')) el.textContent = t(el.dataset.i18n);
  for (const el of root.querySelectorAll('[data-i18n-label]')) el.setAttribute('aria-label', t(el.dataset.i18nLabel));
}

export const onLangChange = (fn) => listeners.push(fn);

export function setLang(code) {
  if (!LANGS.includes(code)) return;
  current = code;
  try { localStorage.setItem(KEY, code); } catch { /* the choice just won't persist */ }
  apply();
  for (const fn of listeners) fn();
}

export function switcher(select) {
  for (const [code, name] of Object.entries(NAMES)) {
    const o = new Option(name, code);
    o.lang = code;
    select.add(o);
  }
  select.value = current;
  select.addEventListener('change', () => setLang(select.value));
}
