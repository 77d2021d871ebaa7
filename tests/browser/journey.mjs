// Browser tests of the public web interface, in Debian's Chromium driven by playwright-core.
//
//   DIPR_URL=http://127.0.0.1:18980 node journey.mjs          # against a running `dipr serve --demo`
//   SCREENSHOTS=../../docs/screenshots node journey.mjs        # also save screenshots at 1280 and 390 px
//
// Every check throws on failure; the process exits non-zero.
import { chromium } from 'playwright-core';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const base = process.env.DIPR_URL ?? 'http://127.0.0.1:18980';
const shots = process.env.SCREENSHOTS;
// The dipr binary, to fingerprint a dataset the way an applicant does before filing.
const bin = process.env.DIPR_BIN ?? '../../target/release/dipr';
const axePath = createRequire(import.meta.url).resolve('axe-core/axe.min.js');
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

async function signIn(page, username, password = 'dipr-demo-2026') {
  await page.goto(`${base}/signin`);
  await page.fill('#username', username);
  await page.fill('#password', password);
  await page.click('form.stack button');
  await page.waitForURL('**/me');
}

async function today(page) {
  const health = await (await page.request.get(`${base}/healthz`)).json();
  return health.now.slice(0, 10);
}

// `bypassCSP` only for the accessibility audit, which injects axe as an inline script the site's CSP forbids.
async function newPage(width = 1280, bypassCSP = false) {
  const context = await browser.newContext({ viewport: { width, height: width > 500 ? 900 : 844 }, locale: 'zh-CN', bypassCSP });
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

await step('the certificate check gives a red result, with the date, for a genuine certificate of a revoked registration', async () => {
  const page = await newPage();
  const found = await (await page.request.get(`${base}/api/v1/public/records?status=revoked&per_page=1`)).json();
  assert.ok(found.items.length > 0, 'the demo has a revoked registration');
  const revokedId = found.items[0].id;
  const certificate = await (await page.request.get(`${base}/api/v1/public/records/${revokedId}/certificate`)).text();
  await page.goto(`${base}/check`);
  await page.fill('#certificate', certificate);
  await page.click('form.stack button');
  await page.waitForSelector('#check-result.bad');
  assert.match(await page.textContent('#check-result h2'), /证书所载登记已撤销/);
  assert.match(await page.textContent('#check-status'), /撤销日期\s*\d{4}-\d{2}-\d{2}（北京时间）/);
  if (shots) {
    mkdirSync(shots, { recursive: true });
    // The verdict and the status box at the top of the viewport.
    await page.evaluate(() => document.querySelector('#check-result').scrollIntoView());
    await page.screenshot({ path: `${shots}/check-revoked-1280.png` });
  }
  await page.context().close();
});

let objectedId;
await step('the public files an objection during the notice period', async () => {
  const page = await newPage();
  const notices = await (await page.request.get(`${base}/api/v1/public/records?status=public_notice&per_page=1`)).json();
  assert.ok(notices.items.length > 0, 'a filing on notice in the demo');
  objectedId = notices.items[0].id;
  await page.goto(`${base}/records/${objectedId}`);
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
  await page.click('form[action^="/signout?"] button');
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
  await page.click('form[action^="/me/pledges?"] button');
  await page.waitForSelector('#err-secured');
  assert.equal(await page.inputValue('#registration_number'), target.registration.registration_number, 'input kept');
  await page.fill('#secured', '8,000,000');
  // A double click files one pledge, not two.
  await page.dblclick('form[action^="/me/pledges?"] button');
  await page.waitForSelector('h1 .badge');
  const after = await (await page.request.get(`${base}/api/v1/public/records/${target.id}`)).json();
  assert.equal(after.record.pledges.filter((p) => p.status === 'pending').length, 1, 'one pending pledge');
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
  await page.click('form[action^="/admin/calendar?"] button');
  await page.waitForSelector('#err-day-date');
  assert.match(await page.textContent('#err-day-date'), /YYYY-MM-DD/);
  assert.equal(await page.inputValue('#day-date'), '2027-02-30', 'the typed date is kept');
  await page.fill('#day-date', '2027-10-08');
  await page.fill('#day-note', '国庆节');
  await page.click('form[action^="/admin/calendar?"] button');
  await page.waitForSelector('#admin-message.good');
  assert.match(await page.textContent('#calendar'), /2027-10-08/);
  await page.fill('#industry-code', 'geospatial');
  await page.fill('#industry-zh', '地理信息');
  await page.fill('#industry-en', 'Geospatial');
  await page.click('form[action^="/admin/industries?"] button');
  await page.waitForSelector('#admin-message.good');
  assert.match(await page.textContent('#industries'), /地理信息/);
  await page.context().close();
});

await step('an applicant saves a draft, files the fingerprint made by dipr fingerprint, and submits it', async () => {
  const page = await newPage();
  const username = `draft${Date.now()}`;
  const password = 'draft password 1';
  const product = `指纹草稿${Date.now()}`;
  const signup = await page.request.post(`${base}/api/v1/auth/signup`, { data: { username, password, display_name: '草稿', role: 'applicant',
    party: { kind: 'legal_person', name: `草稿数据${Date.now()}有限公司`, id_number: creditCode() } } });
  assert.equal(signup.status(), 201);
  await signIn(page, username, password);
  await page.click('#new-filing');
  await page.fill('#product_name', product);
  await page.selectOption('#object_type', 'data_collection');
  await page.click('#save-draft');
  await page.waitForSelector('#fingerprint');
  assert.match(await page.textContent('#status'), /草稿/);

  // The applicant fingerprints the data on their own machine; only the manifest is filed.
  const api = await (await page.request.post(`${base}/api/v1/auth/signin`, { data: { username, password } })).json();
  const key = await (await page.request.get(`${base}/api/v1/fingerprint/discovery-key`, { headers: { authorization: `Bearer ${api.token}` } })).json();
  const dir = mkdtempSync(join(tmpdir(), 'dipr-browser-'));
  let csv = 'id,city,amount\n';
  for (let i = 0; i < 500; i++) csv += `${i},上海${i % 16},${(i * 37) % 1000}.${i % 100}\n`;
  writeFileSync(join(dir, 'data.csv'), csv);
  execFileSync(bin, ['fingerprint', join(dir, 'data.csv'), '--out', join(dir, 'manifest.json'), '--discovery-key', key.key, '--product', product]);
  const manifest = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8'));

  // Choosing the data file instead of the manifest is explained.
  await page.setInputFiles('#manifest-file', join(dir, 'data.csv'));
  await page.waitForFunction(() => document.querySelector('#manifest').value.startsWith('id,city'));
  await page.click('#file-manifest');
  await page.waitForSelector('#err-manifest');
  assert.match(await page.textContent('#err-manifest'), /数据指纹清单无效/);
  await page.setInputFiles('#manifest-file', join(dir, 'manifest.json'));
  await page.waitForFunction(() => document.querySelector('#manifest').value.includes('"root"'));
  await page.click('#file-manifest');
  await page.waitForSelector('#commitment-root');
  assert.equal((await page.textContent('#commitment-root')).trim(), manifest.root);

  // Submitting an incomplete draft explains each field and keeps what was typed.
  await page.fill('#summary', '城市交易金额的月度汇总。');
  await page.click('#submit-filing');
  await page.waitForSelector('#err-legality_statement');
  assert.equal(await page.inputValue('#summary'), '城市交易金额的月度汇总。');
  await page.selectOption('#industry', { index: 1 });
  await page.fill('#scenarios', '风控, 研究');
  await page.fill('#source_description', '自有业务系统');
  await page.fill('#legality_statement', '数据来源合法。');
  await page.check('#no_infringement');
  await page.fill('#processing', '按城市与月份汇总并脱敏。');
  await page.fill('#structure', 'id:int\ncity:string\namount:decimal');
  await page.fill('#format', 'csv');
  await page.selectOption('#update_frequency', 'monthly');
  await page.fill('#secrecy_measures', '访问控制。');
  await page.fill('#samples', '0,上海0,0.0');
  await page.fill('#contact_name', '草稿联系人');
  await page.click('#submit-filing');
  await page.waitForSelector('#status');
  assert.match(await page.textContent('#status'), /已提交/);
  await page.context().close();
});

await step('a holder registers a licence and books a transaction from the filing page', async () => {
  const page = await newPage();
  const day = await today(page);
  const records = await (await page.request.get(`${base}/api/v1/public/records?status=registered&per_page=100`)).json();
  await signIn(page, 'user01');
  await page.locator('#my-filings tr', { hasText: '已登记' }).first().locator('a').first().click();
  await page.waitForSelector('#licences');
  const holder = await (await page.request.get(`${base}/api/v1/public/records/${page.url().split('/me/filings/')[1].split('#')[0]}`)).json();
  const other = records.items.find((r) => r.holder.kind === 'legal_person' && r.holder.id_number && r.holder.name !== holder.record.holder.name);
  assert.ok(other, 'another legal person holds a registration');
  await page.fill('#lic-licensee', other.holder.id_number);
  await page.selectOption('#lic-kind', 'non_exclusive');
  await page.fill('#lic-start', '2026-13-01');
  await page.fill('#lic-end', '2030-12-31');
  await page.fill('#lic-fee', '80,000');
  await page.click('#grant-licence');
  await page.waitForSelector('#err-lic-start');
  assert.match(await page.textContent('#err-lic-start'), /YYYY-MM-DD/);
  assert.equal(await page.inputValue('#lic-fee'), '80,000', 'the typed fee is kept');
  await page.fill('#lic-start', day);
  await page.click('#grant-licence');
  await page.waitForSelector('#licence-list');
  assert.match(await page.textContent('#licence-list'), new RegExp(other.holder.name));

  await page.selectOption('#tx-kind', 'licence_fee');
  await page.fill('#tx-amount', 'abc');
  await page.fill('#tx-occurred_on', day);
  await page.fill('#tx-counterparty', other.holder.name);
  await page.click('#book-transaction');
  await page.waitForSelector('#err-tx-amount');
  assert.match(await page.textContent('#err-tx-amount'), /金额/);
  assert.equal(await page.inputValue('#tx-counterparty'), other.holder.name, 'the typed counterparty is kept');
  await page.fill('#tx-amount', '12,345.60');
  await page.click('#book-transaction');
  await page.waitForSelector('#transaction-list');
  assert.match(await page.textContent('#transaction-list'), /12345\.60/);
  await page.context().close();
});

await step('an examiner decides the objection the public filed', async () => {
  const page = await newPage();
  await signIn(page, 'examiner1');
  await page.goto(`${base}/review/${objectedId}`);
  const form = page.locator('form[action*="/objections/"]').first();
  await form.locator('textarea').fill('异议人未提供权属证据。');
  await form.locator('button').click();
  await page.waitForSelector('[id^="err-reasons-"]');
  assert.match(await page.textContent('span[id^="err-reasons-"]'), /不是可选的值/);
  const again = page.locator('form[action*="/objections/"]').first();
  assert.equal(await again.locator('textarea').inputValue(), '异议人未提供权属证据。', 'the typed reasons are kept');
  await again.locator('select').selectOption('dismissed');
  await again.locator('button').click();
  await page.waitForSelector('#objections');
  assert.match(await page.textContent('main'), /异议不成立/);
  await page.context().close();
});

await step('a bank releases a pledge from its pledge book', async () => {
  const page = await newPage();
  await signIn(page, 'bank1');
  await page.waitForSelector('#pledge-book');
  // Release is irreversible: it opens, asks for a tick, then releases.
  const release = page.locator('#pledge-book details', { has: page.locator('button[id^="release-"]') }).first();
  await release.locator('summary').click();
  await release.locator('input[name=confirm]').check();
  await release.locator('button[id^="release-"]').click();
  await page.waitForURL('**/records/**');
  assert.match(await page.textContent('main'), /已注销/);
  await page.context().close();
});

await step('an administrator creates a staff account and adds a witness', async () => {
  const page = await newPage();
  await signIn(page, 'admin');
  await page.goto(`${base}/admin`);
  const username = `examiner${Date.now()}`;
  await page.fill('#new-username', username);
  await page.fill('#new-display_name', '新审查员');
  await page.selectOption('#new-role', 'examiner');
  await page.fill('#new-password', 'short');
  await page.click('#create-user');
  await page.waitForSelector('#err-new-password');
  assert.equal(await page.inputValue('#new-username'), username, 'the typed username is kept');
  await page.fill('#new-password', 'a long enough password');
  await page.click('#create-user');
  await page.waitForSelector('#admin-message.good');
  assert.match(await page.textContent('#users'), new RegExp(username));
  await page.fill('#witness-url', 'https://witness.example.org');
  await page.fill('#witness-key', 'not a key');
  await page.click('#add-witness');
  await page.waitForSelector('#err-witness-key');
  assert.equal(await page.inputValue('#witness-url'), 'https://witness.example.org', 'the typed URL is kept');
  await page.context().close();
});

await step('keyboard only: the skip link, then sign in and reach a filing without a mouse', async () => {
  const page = await newPage();
  await page.goto(`${base}/signin`);
  await page.keyboard.press('Tab');
  assert.equal(await page.evaluate(() => document.activeElement.className), 'skip', 'the first Tab reaches the skip link');
  await page.keyboard.press('Enter');
  // Following a fragment link settles after the key press returns: wait for it rather than read the URL at once.
  await page.waitForURL(/#main$/, { timeout: 5000 });
  await page.focus('#username');
  await page.keyboard.type('user01');
  await page.keyboard.press('Tab');
  assert.equal(await page.evaluate(() => document.activeElement.id), 'password');
  await page.keyboard.type('dipr-demo-2026');
  await page.keyboard.press('Enter');
  await page.waitForURL('**/me');
  // Tab through "my registry" until a filing link has the focus, then open it with Enter.
  let reached = false;
  for (let i = 0; i < 40 && !reached; i++) {
    await page.keyboard.press('Tab');
    reached = await page.evaluate(() => (document.activeElement.getAttribute('href') ?? '').startsWith('/me/filings/'));
  }
  assert.ok(reached, 'a filing link is reachable with Tab');
  const outline = await page.evaluate(() => getComputedStyle(document.activeElement).outlineStyle);
  assert.notEqual(outline, 'none', 'the focused link shows an outline');
  await page.keyboard.press('Enter');
  await page.waitForURL('**/me/filings/**');
  await page.context().close();
});

await step('accessibility: axe finds no WCAG 2.1 A/AA or best-practice violations, public and signed in', async () => {
  const page = await newPage(1280, true);
  const problems = [];
  async function audit(label) {
    await page.addScriptTag({ path: axePath });
    const result = await page.evaluate(() => axe.run(document, { runOnly: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice'] }));
    for (const v of result.violations) problems.push(`${label}: ${v.id} ${v.help} (${v.nodes.map((n) => n.target.join(' ')).slice(0, 3).join(', ')})`);
  }
  for (const path of ['/', '/search?q=%E8%AF%AD%E6%96%99', '/notices', '/stats', '/check', '/encumbrances', '/signin', '/signup', `/records/${recordId}`, `/records/${objectedId}`, '/?lang=en', `/records/${recordId}`]) {
    await page.goto(`${base}${path}`);
    if (path === '/stats') await page.waitForSelector('body[data-charts="6"]');
    await audit(path);
  }
  await page.goto(`${base}/?lang=zh`);
  await signIn(page, 'user01');
  await audit('my registry (applicant)');
  await page.locator('#my-filings a[href^="/me/filings/"]').first().click();
  await audit('filing page');
  await page.goto(`${base}/me/file`);
  await page.click('form.stack button');
  await page.waitForSelector('#err-product_name');
  await audit('filing form with errors');
  await page.context().clearCookies();
  await signIn(page, 'examiner1');
  await audit('review queue');
  await page.locator('#review-queue a').first().click();
  await audit('review page');
  await page.context().clearCookies();
  await signIn(page, 'bank1');
  await audit('bank console');
  await page.context().clearCookies();
  await signIn(page, 'admin');
  await page.goto(`${base}/admin`);
  await audit('administration');
  assert.deepEqual(problems, []);
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
    // Signed-in pages: an applicant's filing page, an examiner's review page, the administration page.
    const signedIn = [
      ['filing', 'user01', async (page) => page.locator('#my-filings tr', { hasText: '已登记' }).first().locator('a').first().click()],
      ['review', 'examiner1', async (page) => page.locator('#review-queue a').first().click()],
      ['admin', 'admin', async (page) => page.goto(`${base}/admin`)],
    ];
    for (const width of [1280, 390]) {
      const page = await newPage(width);
      for (const [name, path] of pages) {
        await page.goto(`${base}${path}`);
        if (name === 'stats') await page.waitForSelector('body[data-charts="6"]');
        await page.screenshot({ path: `${shots}/${name}-${width}.png`, fullPage: width > 500 ? false : false });
      }
      for (const [name, user, open] of signedIn) {
        await page.context().clearCookies();
        await signIn(page, user);
        await open(page);
        await page.waitForLoadState();
        await page.screenshot({ path: `${shots}/${name}-${width}.png` });
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
