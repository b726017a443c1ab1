// Console strings in English, Thai and Persian. The choice is kept in localStorage; Persian turns the page RTL.

export const LANGS = { en: "English", th: "ไทย", fa: "فارسی" };
const KEY = "hubconsole.lang";

const en = {
  "app.title": "Support console", "app.language": "Language", "app.logout": "Log out", "app.mute": "Mute sound", "app.sections": "Sections",
  "login.email": "Email", "login.password": "Password", "login.submit": "Log in", "login.wrong": "Wrong email or password.",
  "tab.queue": "Queue", "tab.callbacks": "Callbacks",
  "live.online": "Live", "live.offline": "Reconnecting…",
  "presence.label": "Status", "presence.online": "Online", "presence.away": "Away", "presence.offline": "Offline",
  "notify.assigned": "{n} newly assigned tickets",
  "queue.title": "Queue", "queue.empty": "No tickets match these filters.", "queue.new": "new",
  "filter.status": "Status", "filter.assignee": "Assignee", "filter.channel": "Channel", "filter.priority": "Priority",
  "filter.department": "Department", "filter.kind": "Kind", "filter.q": "Search", "filter.any": "Any", "filter.all": "All",
  "filter.open": "Open", "filter.me": "Mine", "filter.unassigned": "Unassigned",
  "status.bot": "Bot", "status.queued": "Queued", "status.assigned": "Assigned", "status.pending": "Pending",
  "status.resolved": "Resolved", "status.closed": "Closed",
  "priority.low": "Low", "priority.normal": "Normal", "priority.high": "High", "priority.urgent": "Urgent",
  "channel.webchat": "Web chat", "channel.telegram": "Telegram", "channel.email": "Email", "channel.callback": "Callback",
  "sla.due": "SLA {in}", "sla.breached": "SLA breached {ago}",
  "ticket.title": "Ticket", "ticket.pick": "Pick a ticket from the queue.", "ticket.noSubject": "(no subject)",
  "ticket.conversation": "Conversation", "ticket.customerTyping": "The customer is typing…", "ticket.handoff": "Handed over by the bot:",
  "ticket.trace": "Routing history ({n})", "ticket.unassigned": "Unassigned", "ticket.agents": "Agents", "ticket.note": "Internal note",
  "ticket.attachment": "attachment", "ticket.attachmentFailed": "The attachment could not be fetched.",
  "author.customer": "Customer", "author.bot": "Bot", "author.agent": "Agent", "author.system": "System",
  "delivery.pending": "Sending…", "delivery.sent": "Sent", "delivery.failed": "Failed",
  "action.claim": "Claim", "action.pending": "Wait for customer", "action.resolve": "Resolve", "action.reopen": "Reopen",
  "action.transfer": "Transfer", "action.transferTo": "Transfer to…",
  "error.conflict": "Someone else got there first: {detail}",
  "reply.label": "Reply to the customer", "reply.send": "Send reply", "reply.note": "Add internal note",
  "reply.unreachable": "The customer cannot be reached on this channel: {why}",
  "canned.pick": "Canned reply…", "canned.add": "Save text as canned reply", "canned.title": "Title", "canned.language": "Language",
  "canned.save": "Save", "canned.inLanguage": "In {lang}", "canned.other": "Other languages", "canned.needText": "Write the text in the reply box first.", "canned.needTitle": "Give it a title.",
  "customer.title": "Customer", "customer.name": "Name", "customer.language": "Language", "customer.tier": "Tier",
  "customer.manager": "Account manager", "customer.identities": "Reachable on", "customer.tickets": "All tickets", "customer.unverified": "Given, not verified",
  "customer.unreachable": "unreachable",
  "callbacks.due": "Due now", "callbacks.upcoming": "Upcoming", "callbacks.none": "Nothing here.",
  "callbacks.unavailable": "The callbacks service is not available on this server.", "callbacks.note": "Note (optional)",
  "callbacks.newTime": "New time", "callbacks.pickTime": "Pick the new time first.", "callbacks.theirTime": "{time} for them ({tz})",
  "callbacks.attempts": "{n} attempts", "callbacks.ticket": "Ticket #{id}", "callbacks.dueCount": "{n} callbacks due",
  "callbacks.status.scheduled": "Scheduled", "callbacks.status.due": "Due", "callbacks.status.claimed": "Claimed",
  "callbacks.status.done": "Done", "callbacks.status.cancelled": "Cancelled", "callbacks.status.unreachable": "Unreachable",
  "outcome.reached": "Reached", "outcome.no_answer": "No answer", "outcome.wrong_number": "Wrong number", "outcome.reschedule": "Reschedule",
  // the console's keyboard, management views, mentions and desktop alerts
  "kind.question": "Question", "kind.complaint": "Complaint", "kind.sales": "Sales", "kind.callback": "Callback", "kind.feedback": "Feedback",
  "tab.agents": "Agents", "tab.canned": "Canned replies", "ticket.back": "Back to the queue",
  "reply.hint": "{mod}+Enter sends · / canned replies · @ mentions a colleague in a note",
  "keys.title": "Keyboard shortcuts", "keys.next": "Next ticket in the queue", "keys.prev": "Previous ticket in the queue",
  "keys.canned": "Search canned replies", "keys.send": "Send the reply", "keys.leave": "Leave the field or close the list", "keys.help": "Show these shortcuts", "keys.close": "Close",
  "suggest.canned": "Canned replies", "suggest.agents": "Mention a colleague", "suggest.none": "Nothing matches.",
  "notify.enable": "Desktop alerts", "notify.on": "Desktop alerts on", "notify.blocked": "Desktop alerts are blocked in this browser",
  "notify.assignedTitle": "Ticket #{id} is now yours", "notify.mentionTitle": "{who} mentioned you on #{id}",
  "mentions.title": "Mentions", "mentions.none": "No one has mentioned you yet.", "mentions.count": "{n} unread mentions", "mentions.unread": "unread",
  "role.agent": "Agent", "role.supervisor": "Supervisor", "role.admin": "Admin",
  "agents.title": "Agents and roles", "agents.name": "Name", "agents.email": "Email", "agents.role": "Role", "agents.departments": "Departments",
  "agents.status": "Status", "agents.active": "Active", "agents.inactive": "Deactivated", "agents.deactivate": "Deactivate", "agents.reactivate": "Reactivate",
  "agents.reset": "Reset password", "agents.newPassword": "New password for {name}, shown only now:", "agents.add": "Add an agent",
  "agents.password": "Password (blank: generate one)", "agents.created": "{name} added. Password, shown only now:", "agents.you": "you",
  "agents.confirmDeactivate": "Deactivate {name}? Their sessions end at once.", "agents.confirmReset": "Reset the password of {name}? Their sessions end at once.",
  "agents.saved": "Saved.",
  "canned.manage": "Canned replies", "canned.text": "Text", "canned.edit": "Edit", "canned.delete": "Delete", "canned.cancel": "Cancel",
  "canned.confirmDelete": "Delete the canned reply “{title}”?", "canned.none": "No canned replies yet. Save one from the reply box.",
};

const th = {
  "app.title": "คอนโซลฝ่ายบริการลูกค้า", "app.language": "ภาษา", "app.logout": "ออกจากระบบ", "app.mute": "ปิดเสียง", "app.sections": "ส่วนต่าง ๆ",
  "login.email": "อีเมล", "login.password": "รหัสผ่าน", "login.submit": "เข้าสู่ระบบ", "login.wrong": "อีเมลหรือรหัสผ่านไม่ถูกต้อง",
  "tab.queue": "คิวงาน", "tab.callbacks": "โทรกลับ",
  "live.online": "ออนไลน์", "live.offline": "กำลังเชื่อมต่อใหม่…",
  "presence.label": "สถานะ", "presence.online": "พร้อมรับงาน", "presence.away": "ไม่อยู่", "presence.offline": "ออฟไลน์",
  "notify.assigned": "ทิกเก็ตใหม่ที่มอบหมายให้คุณ {n} รายการ",
  "queue.title": "คิวงาน", "queue.empty": "ไม่มีทิกเก็ตที่ตรงกับตัวกรอง", "queue.new": "ใหม่",
  "filter.status": "สถานะ", "filter.assignee": "ผู้รับผิดชอบ", "filter.channel": "ช่องทาง", "filter.priority": "ความสำคัญ",
  "filter.department": "แผนก", "filter.kind": "ประเภท", "filter.q": "ค้นหา", "filter.any": "ทั้งหมด", "filter.all": "ทุกสถานะ",
  "filter.open": "ยังไม่ปิด", "filter.me": "ของฉัน", "filter.unassigned": "ยังไม่มีผู้รับผิดชอบ",
  "status.bot": "บอท", "status.queued": "รอคิว", "status.assigned": "มีผู้รับผิดชอบ", "status.pending": "รอลูกค้า",
  "status.resolved": "แก้ไขแล้ว", "status.closed": "ปิดแล้ว",
  "priority.low": "ต่ำ", "priority.normal": "ปกติ", "priority.high": "สูง", "priority.urgent": "ด่วน",
  "channel.webchat": "แชทเว็บไซต์", "channel.telegram": "เทเลแกรม", "channel.email": "อีเมล", "channel.callback": "โทรกลับ",
  "sla.due": "SLA {in}", "sla.breached": "เกิน SLA {ago}",
  "ticket.title": "ทิกเก็ต", "ticket.pick": "เลือกทิกเก็ตจากคิว", "ticket.noSubject": "(ไม่มีหัวข้อ)",
  "ticket.conversation": "บทสนทนา", "ticket.customerTyping": "ลูกค้ากำลังพิมพ์…", "ticket.handoff": "บอทส่งต่อเพราะ:",
  "ticket.trace": "ประวัติการส่งต่อ ({n})", "ticket.unassigned": "ยังไม่มีผู้รับผิดชอบ", "ticket.agents": "พนักงาน", "ticket.note": "บันทึกภายใน",
  "ticket.attachment": "ไฟล์แนบ", "ticket.attachmentFailed": "ดึงไฟล์แนบไม่สำเร็จ",
  "author.customer": "ลูกค้า", "author.bot": "บอท", "author.agent": "พนักงาน", "author.system": "ระบบ",
  "delivery.pending": "กำลังส่ง…", "delivery.sent": "ส่งแล้ว", "delivery.failed": "ส่งไม่สำเร็จ",
  "action.claim": "รับงาน", "action.pending": "รอลูกค้า", "action.resolve": "แก้ไขแล้ว", "action.reopen": "เปิดใหม่",
  "action.transfer": "โอนงาน", "action.transferTo": "โอนไปที่…",
  "error.conflict": "มีคนรับงานนี้ไปก่อนแล้ว: {detail}",
  "reply.label": "ตอบลูกค้า", "reply.send": "ส่งคำตอบ", "reply.note": "เพิ่มบันทึกภายใน",
  "reply.unreachable": "ติดต่อลูกค้าทางช่องทางนี้ไม่ได้: {why}",
  "canned.pick": "ข้อความสำเร็จรูป…", "canned.add": "บันทึกเป็นข้อความสำเร็จรูป", "canned.title": "ชื่อ", "canned.language": "ภาษา",
  "canned.save": "บันทึก", "canned.inLanguage": "ภาษา {lang}", "canned.other": "ภาษาอื่น", "canned.needText": "พิมพ์ข้อความในช่องตอบก่อน", "canned.needTitle": "ตั้งชื่อก่อน",
  "customer.title": "ลูกค้า", "customer.name": "ชื่อ", "customer.language": "ภาษา", "customer.tier": "ระดับ",
  "customer.manager": "ผู้ดูแลบัญชี", "customer.identities": "ช่องทางติดต่อ", "customer.tickets": "ทิกเก็ตทั้งหมด", "customer.unverified": "ที่ลูกค้าให้ไว้ (ยังไม่ยืนยัน)",
  "customer.unreachable": "ติดต่อไม่ได้",
  "callbacks.due": "ถึงเวลาโทรแล้ว", "callbacks.upcoming": "นัดที่จะถึง", "callbacks.none": "ไม่มีรายการ",
  "callbacks.unavailable": "เซิร์ฟเวอร์นี้ยังไม่มีบริการโทรกลับ", "callbacks.note": "หมายเหตุ (ไม่บังคับ)",
  "callbacks.newTime": "เวลาใหม่", "callbacks.pickTime": "เลือกเวลาใหม่ก่อน", "callbacks.theirTime": "{time} ตามเวลาลูกค้า ({tz})",
  "callbacks.attempts": "โทรแล้ว {n} ครั้ง", "callbacks.ticket": "ทิกเก็ต #{id}", "callbacks.dueCount": "ถึงเวลาโทร {n} รายการ",
  "callbacks.status.scheduled": "นัดไว้", "callbacks.status.due": "ถึงเวลา", "callbacks.status.claimed": "มีผู้รับแล้ว",
  "callbacks.status.done": "เสร็จแล้ว", "callbacks.status.cancelled": "ยกเลิกแล้ว", "callbacks.status.unreachable": "ติดต่อไม่ได้",
  "outcome.reached": "ติดต่อได้", "outcome.no_answer": "ไม่รับสาย", "outcome.wrong_number": "เบอร์ผิด", "outcome.reschedule": "เลื่อนนัด",
  "kind.question": "คำถาม", "kind.complaint": "ร้องเรียน", "kind.sales": "การขาย", "kind.callback": "โทรกลับ", "kind.feedback": "ข้อเสนอแนะ",
  "tab.agents": "พนักงาน", "tab.canned": "ข้อความสำเร็จรูป", "ticket.back": "กลับไปที่คิว",
  "reply.hint": "{mod}+Enter ส่ง · / ข้อความสำเร็จรูป · @ เรียกเพื่อนร่วมงานในบันทึกภายใน",
  "keys.title": "คีย์ลัด", "keys.next": "ทิกเก็ตถัดไปในคิว", "keys.prev": "ทิกเก็ตก่อนหน้าในคิว",
  "keys.canned": "ค้นหาข้อความสำเร็จรูป", "keys.send": "ส่งคำตอบ", "keys.leave": "ออกจากช่องกรอกหรือปิดรายการ", "keys.help": "แสดงคีย์ลัด", "keys.close": "ปิด",
  "suggest.canned": "ข้อความสำเร็จรูป", "suggest.agents": "เรียกเพื่อนร่วมงาน", "suggest.none": "ไม่พบรายการที่ตรงกัน",
  "notify.enable": "แจ้งเตือนบนเดสก์ท็อป", "notify.on": "เปิดแจ้งเตือนบนเดสก์ท็อปแล้ว", "notify.blocked": "เบราว์เซอร์นี้บล็อกการแจ้งเตือน",
  "notify.assignedTitle": "ทิกเก็ต #{id} มอบหมายให้คุณแล้ว", "notify.mentionTitle": "{who} เรียกคุณในทิกเก็ต #{id}",
  "mentions.title": "การกล่าวถึง", "mentions.none": "ยังไม่มีใครเรียกคุณ", "mentions.count": "ยังไม่ได้อ่าน {n} รายการ", "mentions.unread": "ยังไม่ได้อ่าน",
  "role.agent": "พนักงาน", "role.supervisor": "หัวหน้างาน", "role.admin": "ผู้ดูแลระบบ",
  "agents.title": "พนักงานและบทบาท", "agents.name": "ชื่อ", "agents.email": "อีเมล", "agents.role": "บทบาท", "agents.departments": "แผนก",
  "agents.status": "สถานะ", "agents.active": "ใช้งานอยู่", "agents.inactive": "ปิดใช้งานแล้ว", "agents.deactivate": "ปิดใช้งาน", "agents.reactivate": "เปิดใช้งานอีกครั้ง",
  "agents.reset": "ตั้งรหัสผ่านใหม่", "agents.newPassword": "รหัสผ่านใหม่ของ {name} (แสดงครั้งเดียว):", "agents.add": "เพิ่มพนักงาน",
  "agents.password": "รหัสผ่าน (เว้นว่างเพื่อสร้างให้อัตโนมัติ)", "agents.created": "เพิ่ม {name} แล้ว รหัสผ่าน (แสดงครั้งเดียว):", "agents.you": "คุณ",
  "agents.confirmDeactivate": "ปิดใช้งาน {name} ใช่ไหม ทุกเซสชันจะสิ้นสุดทันที", "agents.confirmReset": "ตั้งรหัสผ่านใหม่ให้ {name} ใช่ไหม ทุกเซสชันจะสิ้นสุดทันที",
  "agents.saved": "บันทึกแล้ว",
  "canned.manage": "ข้อความสำเร็จรูป", "canned.text": "ข้อความ", "canned.edit": "แก้ไข", "canned.delete": "ลบ", "canned.cancel": "ยกเลิก",
  "canned.confirmDelete": "ลบข้อความสำเร็จรูป “{title}” ใช่ไหม", "canned.none": "ยังไม่มีข้อความสำเร็จรูป บันทึกได้จากช่องตอบ",
};

const fa = {
  "app.title": "پیشخوان پشتیبانی", "app.language": "زبان", "app.logout": "خروج", "app.mute": "بی‌صدا", "app.sections": "بخش‌ها",
  "login.email": "ایمیل", "login.password": "گذرواژه", "login.submit": "ورود", "login.wrong": "ایمیل یا گذرواژه نادرست است.",
  "tab.queue": "صف", "tab.callbacks": "تماس‌های برگشتی",
  "live.online": "زنده", "live.offline": "در حال اتصال دوباره…",
  "presence.label": "وضعیت", "presence.online": "در دسترس", "presence.away": "دور از میز", "presence.offline": "آفلاین",
  "notify.assigned": "{n} تیکت تازه به شما سپرده شد",
  "queue.title": "صف", "queue.empty": "هیچ تیکتی با این فیلترها نیست.", "queue.new": "تازه",
  "filter.status": "وضعیت", "filter.assignee": "مسئول", "filter.channel": "کانال", "filter.priority": "اولویت",
  "filter.department": "واحد", "filter.kind": "نوع", "filter.q": "جستجو", "filter.any": "همه", "filter.all": "همه وضعیت‌ها",
  "filter.open": "باز", "filter.me": "مال من", "filter.unassigned": "بدون مسئول",
  "status.bot": "ربات", "status.queued": "در صف", "status.assigned": "سپرده‌شده", "status.pending": "در انتظار مشتری",
  "status.resolved": "حل‌شده", "status.closed": "بسته",
  "priority.low": "کم", "priority.normal": "عادی", "priority.high": "زیاد", "priority.urgent": "فوری",
  "channel.webchat": "گفتگوی وب", "channel.telegram": "تلگرام", "channel.email": "ایمیل", "channel.callback": "تماس برگشتی",
  "sla.due": "SLA {in}", "sla.breached": "SLA گذشته {ago}",
  "ticket.title": "تیکت", "ticket.pick": "یک تیکت از صف انتخاب کنید.", "ticket.noSubject": "(بی‌عنوان)",
  "ticket.conversation": "گفتگو", "ticket.customerTyping": "مشتری در حال نوشتن است…", "ticket.handoff": "ربات واگذار کرد:",
  "ticket.trace": "سابقه مسیریابی ({n})", "ticket.unassigned": "بدون مسئول", "ticket.agents": "کارشناسان", "ticket.note": "یادداشت داخلی",
  "ticket.attachment": "پیوست", "ticket.attachmentFailed": "دریافت پیوست ممکن نشد.",
  "author.customer": "مشتری", "author.bot": "ربات", "author.agent": "کارشناس", "author.system": "سامانه",
  "delivery.pending": "در حال ارسال…", "delivery.sent": "ارسال شد", "delivery.failed": "ناموفق",
  "action.claim": "برداشتن", "action.pending": "انتظار برای مشتری", "action.resolve": "حل شد", "action.reopen": "بازگشایی",
  "action.transfer": "انتقال", "action.transferTo": "انتقال به…",
  "error.conflict": "کس دیگری زودتر برداشت: {detail}",
  "reply.label": "پاسخ به مشتری", "reply.send": "ارسال پاسخ", "reply.note": "افزودن یادداشت داخلی",
  "reply.unreachable": "مشتری از این کانال در دسترس نیست: {why}",
  "canned.pick": "پاسخ آماده…", "canned.add": "ذخیره به‌عنوان پاسخ آماده", "canned.title": "عنوان", "canned.language": "زبان",
  "canned.save": "ذخیره", "canned.inLanguage": "به زبان {lang}", "canned.other": "زبان‌های دیگر", "canned.needText": "اول متن را در کادر پاسخ بنویسید.", "canned.needTitle": "یک عنوان بدهید.",
  "customer.title": "مشتری", "customer.name": "نام", "customer.language": "زبان", "customer.tier": "سطح",
  "customer.manager": "مدیر حساب", "customer.identities": "راه‌های تماس", "customer.tickets": "همه تیکت‌ها", "customer.unverified": "اعلام‌شده (تأییدنشده)",
  "customer.unreachable": "در دسترس نیست",
  "callbacks.due": "اکنون", "callbacks.upcoming": "پیش رو", "callbacks.none": "موردی نیست.",
  "callbacks.unavailable": "سرویس تماس برگشتی روی این سرور فعال نیست.", "callbacks.note": "یادداشت (اختیاری)",
  "callbacks.newTime": "زمان جدید", "callbacks.pickTime": "اول زمان جدید را انتخاب کنید.", "callbacks.theirTime": "{time} به وقت مشتری ({tz})",
  "callbacks.attempts": "{n} بار تلاش", "callbacks.ticket": "تیکت #{id}", "callbacks.dueCount": "{n} تماس موعد رسیده",
  "callbacks.status.scheduled": "زمان‌بندی‌شده", "callbacks.status.due": "موعد رسیده", "callbacks.status.claimed": "برداشته‌شده",
  "callbacks.status.done": "انجام‌شده", "callbacks.status.cancelled": "لغوشده", "callbacks.status.unreachable": "در دسترس نیست",
  "outcome.reached": "صحبت شد", "outcome.no_answer": "پاسخ نداد", "outcome.wrong_number": "شماره اشتباه", "outcome.reschedule": "زمان دیگر",
  "kind.question": "پرسش", "kind.complaint": "شکایت", "kind.sales": "فروش", "kind.callback": "تماس برگشتی", "kind.feedback": "بازخورد",
  "tab.agents": "کارشناسان", "tab.canned": "پاسخ‌های آماده", "ticket.back": "بازگشت به صف",
  "reply.hint": "{mod}+Enter ارسال · / پاسخ‌های آماده · @ نام بردن از همکار در یادداشت",
  "keys.title": "میان‌برهای صفحه‌کلید", "keys.next": "تیکت بعدی صف", "keys.prev": "تیکت قبلی صف",
  "keys.canned": "جستجوی پاسخ‌های آماده", "keys.send": "ارسال پاسخ", "keys.leave": "خروج از کادر یا بستن فهرست", "keys.help": "نمایش میان‌برها", "keys.close": "بستن",
  "suggest.canned": "پاسخ‌های آماده", "suggest.agents": "نام بردن از همکار", "suggest.none": "موردی پیدا نشد.",
  "notify.enable": "اعلان دسکتاپ", "notify.on": "اعلان دسکتاپ روشن است", "notify.blocked": "اعلان‌ها در این مرورگر مسدود است",
  "notify.assignedTitle": "تیکت #{id} به شما سپرده شد", "notify.mentionTitle": "{who} در تیکت #{id} از شما نام برد",
  "mentions.title": "نام‌بردن‌ها", "mentions.none": "هنوز کسی از شما نام نبرده است.", "mentions.count": "{n} مورد خوانده‌نشده", "mentions.unread": "خوانده‌نشده",
  "role.agent": "کارشناس", "role.supervisor": "سرپرست", "role.admin": "مدیر سامانه",
  "agents.title": "کارشناسان و نقش‌ها", "agents.name": "نام", "agents.email": "ایمیل", "agents.role": "نقش", "agents.departments": "واحدها",
  "agents.status": "وضعیت", "agents.active": "فعال", "agents.inactive": "غیرفعال", "agents.deactivate": "غیرفعال کردن", "agents.reactivate": "فعال کردن دوباره",
  "agents.reset": "بازنشانی گذرواژه", "agents.newPassword": "گذرواژه تازه {name} (فقط همین یک بار نمایش داده می‌شود):", "agents.add": "افزودن کارشناس",
  "agents.password": "گذرواژه (خالی: ساخت خودکار)", "agents.created": "{name} افزوده شد. گذرواژه (فقط همین یک بار):", "agents.you": "شما",
  "agents.confirmDeactivate": "{name} غیرفعال شود؟ همه نشست‌هایش همین حالا بسته می‌شود.", "agents.confirmReset": "گذرواژه {name} بازنشانی شود؟ همه نشست‌هایش همین حالا بسته می‌شود.",
  "agents.saved": "ذخیره شد.",
  "canned.manage": "پاسخ‌های آماده", "canned.text": "متن", "canned.edit": "ویرایش", "canned.delete": "حذف", "canned.cancel": "انصراف",
  "canned.confirmDelete": "پاسخ آماده «{title}» حذف شود؟", "canned.none": "هنوز پاسخ آماده‌ای نیست. از کادر پاسخ یکی ذخیره کنید.",
};

const DICTS = { en, th, fa };
let current = pick();

function pick() {
  const wanted = [localStorage.getItem(KEY), ...(navigator.languages || [navigator.language])];
  for (const l of wanted) {
    const base = (l || "").slice(0, 2).toLowerCase();
    if (DICTS[base]) return base;
  }
  return "en";
}

export const lang = () => current;

export function setLang(l) {
  if (!DICTS[l]) return;
  current = l;
  localStorage.setItem(KEY, l);
}

/** The string for `key` with {vars} filled in; English, then `fallback`, then the key when a string is missing. */
export function t(key, vars = {}, fallback) {
  const s = DICTS[current][key] ?? en[key] ?? fallback ?? key;
  return s.replace(/\{(\w+)\}/g, (_, v) => String(vars?.[v] ?? ""));
}

/** Strings a view module brings along ({en: {...}, th: {...}, fa: {...}}), merged into the dictionaries. */
export function addStrings(dicts) {
  for (const [l, strings] of Object.entries(dicts)) if (DICTS[l]) Object.assign(DICTS[l], strings);
}
