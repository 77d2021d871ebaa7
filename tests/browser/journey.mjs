// Browser tests of the public web interface, in Debian's Chromium driven by playwright-core.
//
//   DIPR_URL=http://127.0.0.1:18980 node journey.mjs          # against a running `dipr serve --demo`
//   SCREENSHOTS=../../docs/screenshots node journey.mjs        # also save screenshots at 1280 and 390 px
//
// Every check throws on failure; the process exits non-zero.
import { chromium } from 'playwright-core';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';

const base = process.env.DIPR_URL ?? 'http://127.0.0.1:18980';
const shots = process.env.SCREENSHOTS;
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
  args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
         '--disable-component-update', '--disable-sync'],
});

let failures = 0;
async function step(name, fn) {
  const started = Date.now();
  try {
    await fn();
    console.log(`ok   ${name} (${Date.now() - started} ms)`);
  } catch (e) {
    failures += 1;
    console.log(`FAIL ${name}\n     ${e.stack ?? e}`);
  }
}

async function newPage(width = 1280) {
  const context = await browser.newContext({ viewport: { width, height: width > 500 ? 900 : 844 }, locale: 'zh-CN' });
  const page = await context.newPage();
  page.on('pageerror', (e) => { throw new Error(`script error on ${page.url()}: ${e.message}`); });
  return page;
}

await step('home speaks Chinese by default and shows the headline figures', async () => {
  const page = await newPage();
  await page.goto(`${base}/`);
  assert.equal(await page.getAttribute('html', 'lang'), 'zh-CN');
  assert.match(await page.textContent('h1'), /数据知识产权登记/);
  const certificates = Number(await page.textContent('#kpi-certificates .kpi-value'));
  assert.ok(certificates > 0, `certificates: ${certificates}`);
  await page.context().close();
});

await step('the language switch turns every page English and is remembered', async () => {
  const page = await newPage();
  await page.goto(`${base}/`);
  await page.click('#lang-switch');
  await page.waitForLoadState();
  assert.equal(await page.getAttribute('html', 'lang'), 'en');
  assert.match(await page.textContent('h1'), /Data intellectual property registration/);
  await page.goto(`${base}/stats`);
  assert.match(await page.textContent('h1'), /Registration statistics/);
  await page.click('#lang-switch');
  await page.waitForLoadState();
  assert.match(await page.textContent('h1'), /登记统计/);
  await page.context().close();
});

await step('the dashboard draws its charts and explains a bad filter next to the field', async () => {
  const page = await newPage();
  await page.goto(`${base}/stats`);
  await page.waitForSelector('body[data-charts="6"]');
  const drawn = await page.evaluate(() => Object.values(Chart.instances).filter((c) => c.data.datasets[0].data.length > 0).length);
  assert.ok(drawn >= 5, `charts with data: ${drawn}`);
  assert.match(await page.getAttribute('#csv', 'href'), /statistics\.csv/);
  await page.fill('input[name=from]', '2026-13-40');
  await page.click('form.filters button');
  await page.waitForSelector('#err-from');
  assert.match(await page.textContent('#err-from'), /YYYY-MM-DD/);
  assert.equal(await page.inputValue('input[name=from]'), '2026-13-40', 'the typed input is kept');
  await page.context().close();
});

let recordId;
await step('search finds registered products and opens the public record', async () => {
  const page = await newPage();
  await page.goto(`${base}/search`);
  await page.fill('input[name=q]', '语料');
  await page.selectOption('select[name=status]', 'registered');
  await page.click('form.filters button');
  await page.waitForSelector('#result-count');
  assert.match(await page.textContent('#result-count'), /共 [1-9]\d* 条记录/);
  await page.click('table.list tbody tr:first-child a');
  await page.waitForSelector('h1 .badge');
  assert.match(await page.textContent('main'), /登记号/);
  assert.match(await page.textContent('main'), /公开记录/);
  recordId = page.url().split('/records/')[1].split('?')[0];
  await page.context().close();
});

await step('the certificate check says a genuine certificate is valid and a changed one is not', async () => {
  const page = await newPage();
  const response = await page.request.get(`${base}/api/v1/public/records/${recordId}/certificate`);
  assert.equal(response.status(), 200);
  const certificate = await response.text();
  await page.goto(`${base}/check`);
  await page.fill('#certificate', certificate);
  await page.click('form.stack button');
  await page.waitForSelector('#check-result');
  assert.equal(await page.getAttribute('#check-result', 'class'), 'result good');
  assert.match(await page.textContent('#check-result h2'), /证书有效/);
  const forged = JSON.parse(certificate);
  forged.statement.holder.name = '别人的公司';
  await page.fill('#certificate', JSON.stringify(forged));
  await page.click('form.stack button');
  await page.waitForSelector('#check-result.bad');
  assert.match(await page.textContent('#check-result h2'), /证书无效/);
  await page.context().close();
});

await step('the public files an objection during the notice period', async () => {
  const page = await newPage();
  const notices = await (await page.request.get(`${base}/api/v1/public/records?status=public_notice&per_page=1`)).json();
  assert.ok(notices.items.length > 0, 'a filing on notice in the demo');
  await page.goto(`${base}/records/${notices.items[0].id}`);
  await page.fill('#objector_name', '上海某律师事务所');
  await page.click('form.stack button');
  await page.waitForSelector('#err-grounds');
  assert.equal(await page.inputValue('#objector_name'), '上海某律师事务所', 'the typed input is kept');
  await page.fill('#grounds', '该数据集包含我方客户享有权益的数据，附授权链证据。');
  await page.click('form.stack button');
  await page.waitForSelector('#objection-filed');
  assert.match(await page.textContent('main'), /提出异议/);
  await page.context().close();
});

await step('a bank searches encumbrances before lending', async () => {
  const page = await newPage();
  await page.goto(`${base}/encumbrances`);
  await page.fill('input[name=q]', 'x');
  await page.click('form.filters button');
  await page.waitForSelector('#err-q');
  const stats = await (await page.request.get(`${base}/api/v1/statistics`)).json();
  assert.ok(stats.pledge_financing.loans > 0, 'the demo has pledges');
  const pledged = await (await page.request.get(`${base}/api/v1/public/records?status=registered&per_page=100`)).json();
  const target = pledged.items.find((r) => r.pledged);
  assert.ok(target, 'a pledged product in the demo');
  await page.fill('input[name=q]', target.registration.registration_number);
  await page.click('form.filters button');
  await page.waitForSelector('article.card');
  assert.match(await page.textContent('article.card'), /质权人/);
  assert.match(await page.textContent('article.card'), /有效/);
  await page.context().close();
});

await step('people sign in: a wrong password is explained, an applicant sees deadlines, an examiner the queue', async () => {
  const page = await newPage();
  await page.goto(`${base}/me`);
  await page.waitForSelector('#username');
  await page.fill('#username', 'user01');
  await page.fill('#password', 'wrong password');
  await page.click('form.stack button');
  await page.waitForSelector('#signin-error');
  assert.equal(await page.inputValue('#username'), 'user01', 'the typed username is kept');
  await page.fill('#password', 'dipr-demo-2026');
  await page.click('form.stack button');
  await page.waitForSelector('#my-filings');
  assert.ok((await page.$$('#my-filings tr')).length > 1, 'the applicant has filings');
  const cookies = await page.context().cookies();
  const session = cookies.find((c) => c.name === 'dipr_session');
  assert.ok(session && session.httpOnly && session.sameSite === 'Lax', 'HttpOnly, SameSite session cookie');
  await page.click('form[action="/signout"] button');
  await page.goto(`${base}/me`);
  await page.waitForSelector('#username');
  await page.fill('#username', 'examiner1');
  await page.fill('#password', 'dipr-demo-2026');
  await page.click('form.stack button');
  await page.waitForSelector('#review-queue');
  assert.ok((await page.$$('#review-queue tr')).length > 1, 'the examiner has a queue');
  // The examiner decides a filing in formal review: reasons are required, then the decision is recorded.
  const signin = await (await page.request.post(`${base}/api/v1/auth/signin`, { data: { username: 'examiner1', password: 'dipr-demo-2026' } })).json();
  const queue = await (await page.request.get(`${base}/api/v1/review/queue?state=formal_review`, { headers: { authorization: `Bearer ${signin.token}` } })).json();
  assert.ok(queue.items.length > 0, 'a filing in formal review');
  await page.goto(`${base}/review/${queue.items[0].id}`);
  await page.selectOption('#action', 'reject');
  await page.click('form.stack button');
  await page.waitForSelector('#err-reasons');
  assert.match(await page.textContent('#err-reasons'), /理由/);
  await page.fill('#reasons', '申请材料不属于数据知识产权登记对象。');
  await page.click('form.stack button');
  await page.waitForSelector('h1 .badge');
  assert.match(await page.textContent('h1 .badge'), /不予受理/);
  await page.context().close();
});

await step('a bank registers a pledge from its console', async () => {
  const page = await newPage();
  const registered = await (await page.request.get(`${base}/api/v1/public/records?status=registered&per_page=100`)).json();
  const target = registered.items.find((r) => r.pledges.length === 0);
  assert.ok(target, 'an unpledged registered product');
  await page.goto(`${base}/signin`);
  await page.fill('#username', 'bank2');
  await page.fill('#password', 'dipr-demo-2026');
  await page.click('form.stack button');
  await page.waitForSelector('#registration_number');
  await page.fill('#registration_number', target.registration.registration_number);
  await page.fill('#secured', '-5');
  await page.fill('#start', '2026-12-01');
  await page.fill('#end', '2028-11-30');
  await page.fill('#rank', '1');
  await page.click('form[action="/me/pledges"] button');
  await page.waitForSelector('#err-secured');
  assert.equal(await page.inputValue('#registration_number'), target.registration.registration_number, 'input kept');
  await page.fill('#secured', '8,000,000');
  await page.click('form[action="/me/pledges"] button');
  await page.waitForSelector('h1 .badge');
  assert.match(await page.textContent('main'), /待权利人同意/);
  assert.match(await page.textContent('main'), /申城农村商业银行/);
  await page.context().close();
});

await step('an administrator maintains the calendar and the industry list', async () => {
  const page = await newPage();
  await page.goto(`${base}/signin`);
  await page.fill('#username', 'admin');
  await page.fill('#password', 'dipr-demo-2026');
  await page.click('form.stack button');
  await page.click('#admin-link');
  await page.waitForSelector('#users');
  await page.fill('#day-date', '2027-02-30');
  await page.click('form[action="/admin/calendar"] button');
  await page.waitForSelector('#admin-message.bad');
  await page.fill('#day-date', '2027-10-08');
  await page.fill('#day-note', '国庆节');
  await page.click('form[action="/admin/calendar"] button');
  await page.waitForSelector('#admin-message.good');
  assert.match(await page.textContent('#calendar'), /2027-10-08/);
  await page.fill('#industry-code', 'geospatial');
  await page.fill('#industry-zh', '地理信息');
  await page.fill('#industry-en', 'Geospatial');
  await page.click('form[action="/admin/industries"] button');
  await page.waitForSelector('#admin-message.good');
  assert.match(await page.textContent('#industries'), /地理信息/);
  await page.context().close();
});

function creditCode() {
  const chars = '0123456789ABCDEFGHJKLMNPQRTUWXY';
  const weights = [1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28];
  let body = '91310000';
  for (let i = 0; i < 9; i++) body += String(Math.floor(Math.random() * 10));
  const sum = [...body].reduce((acc, c, i) => acc + chars.indexOf(c) * weights[i], 0);
  return body + chars[(31 - (sum % 31)) % 31];
}

await step('the whole journey: sign up, file, examiner approves, notice passes, certificate checks out', async () => {
  const applicant = await newPage();
  const username = `journey${Date.now()}`;
  const product = `旅程测试语料${Date.now()}`;
  await applicant.goto(`${base}/signup`);
  await applicant.fill('#username', username);
  await applicant.fill('#password', 'journey password 1');
  await applicant.fill('#display_name', '测试联系人');
  await applicant.fill('#party_name', '旅程数据科技有限公司');
  await applicant.fill('#id_number', '91310000MA1FL8XQ31');
  await applicant.click('form.stack button');
  await applicant.waitForSelector('#err-id_number');
  assert.equal(await applicant.inputValue('#party_name'), '旅程数据科技有限公司', 'the typed input is kept');
  await applicant.fill('#password', 'journey password 1');
  await applicant.fill('#id_number', creditCode());
  await applicant.click('form.stack button');
  await applicant.waitForSelector('#my-filings');

  await applicant.click('#new-filing');
  await applicant.waitForSelector('#product_name');
  await applicant.click('form.stack button');
  await applicant.waitForSelector('#err-product_name');
  await applicant.fill('#product_name', product);
  await applicant.selectOption('#object_type', 'data_collection');
  await applicant.selectOption('#industry', { index: 1 });
  await applicant.fill('#scenarios', '模型训练，行业研究');
  await applicant.fill('#summary', '经清洗、脱敏和标注的中文语料。');
  await applicant.fill('#source_description', '自有平台采集并取得用户授权');
  await applicant.fill('#legality_statement', '数据来源合法，已取得全部授权。');
  await applicant.check('#no_infringement');
  await applicant.fill('#processing', '去重、清洗、脱敏、人工标注与质量校验。');
  await applicant.fill('#structure', 'text:string\nlabel:string');
  await applicant.fill('#format', 'jsonl');
  await applicant.selectOption('#update_frequency', 'monthly');
  await applicant.fill('#secrecy_measures', '分级访问控制与审计日志。');
  await applicant.fill('#samples', '{"text": "示例", "label": "新闻"}');
  await applicant.fill('#contact_name', '测试联系人');
  await applicant.click('form.stack button');
  await applicant.waitForSelector('#my-filings');
  assert.match(await applicant.textContent('#my-filings'), new RegExp(product));

  const examiner = await newPage();
  await examiner.goto(`${base}/signin`);
  await examiner.fill('#username', 'examiner2');
  await examiner.fill('#password', 'dipr-demo-2026');
  await examiner.click('form.stack button');
  await examiner.waitForSelector('#review-queue');
  await examiner.click(`#review-queue a:text("${product}")`);
  for (const [action, reasons] of [['accept', ''], ['pass_formal_review', '材料齐全，形式审查合格。'], ['approve', '符合登记条件，予以公示。']]) {
    await examiner.waitForSelector('#action');
    await examiner.selectOption('#action', action);
    await examiner.fill('#reasons', reasons);
    await examiner.click('form.stack button');
    await examiner.waitForLoadState();
  }
  assert.match(await examiner.textContent('h1 .badge'), /公示中/);

  // The notice period passes (the demo server's clock is adjustable).
  const admin = await (await examiner.request.post(`${base}/api/v1/auth/signin`, { data: { username: 'admin', password: 'dipr-demo-2026' } })).json();
  const moved = await examiner.request.post(`${base}/api/v1/admin/clock`, { data: { days: 20 }, headers: { authorization: `Bearer ${admin.token}` } });
  assert.equal(moved.status(), 200);

  // Twenty days later the session has expired: sign in again.
  await applicant.goto(`${base}/me`);
  await applicant.waitForSelector('#username');
  await applicant.fill('#username', username);
  await applicant.fill('#password', 'journey password 1');
  await applicant.click('form.stack button');
  await applicant.waitForSelector('#my-filings');
  const row = applicant.locator('#my-filings tr', { hasText: product });
  assert.match(await row.textContent(), /已登记/);
  const json = await row.locator('a:text("JSON")').getAttribute('href');
  const certificate = await (await applicant.request.get(`${base}${json}`)).text();
  await applicant.goto(`${base}/check`);
  await applicant.fill('#certificate', certificate);
  await applicant.click('form.stack button');
  await applicant.waitForSelector('#check-result.good');
  assert.match(await applicant.textContent('#check-result'), new RegExp(product));
  await applicant.context().close();
  await examiner.context().close();
});

if (shots) {
  await step('screenshots', async () => {
    mkdirSync(shots, { recursive: true });
    const pages = [
      ['home', '/'], ['search', '/search?q=%E8%AF%AD%E6%96%99'], ['record', `/records/${recordId}`],
      ['stats', '/stats'], ['check', '/check'], ['signin', '/signin'], ['signup', '/signup'], ['encumbrances', '/encumbrances?q=%E8%AF%AD%E6%96%99'],
    ];
    for (const width of [1280, 390]) {
      const page = await newPage(width);
      for (const [name, path] of pages) {
        await page.goto(`${base}${path}`);
        if (name === 'stats') await page.waitForSelector('body[data-charts="6"]');
        await page.screenshot({ path: `${shots}/${name}-${width}.png`, fullPage: width > 500 ? false : false });
      }
      await page.context().close();
    }
  });
}

await browser.close();
if (failures > 0) {
  console.log(`${failures} browser check(s) failed`);
  process.exit(1);
}
console.log('all browser checks passed');
