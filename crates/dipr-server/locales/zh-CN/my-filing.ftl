# One filing's page (/me/filings/{id}), as its applicant or holder works on it.
my-filing-not-found = 没有这项申请，或您无权查看。
my-filing-gone = 没有这项申请。
my-filing-back = ← 我的登记
my-filing-receipt = 办理回执
my-filing-receipt-event-no = 事项编号
my-filing-receipt-logged = 已记入公开账本，序号 { $index }
my-filing-public-record = 查看公开记录
my-filing-registration-number = 登记号
my-filing-certificate-pdf = 下载证书（PDF）
my-filing-certificate-json = 证书（JSON，可离线核验）

# What the examiners said.
my-filing-correction = 审查员要求补正
my-filing-correct-by = 补正截止
my-filing-decisions = 审查决定
my-filing-date = 日期
my-filing-decision = 决定
my-filing-examiner = 审查员
my-filing-reasons = 理由
my-filing-objections = 异议
my-filing-decision-due = 决定期限
my-filing-my-response = 我的答复：
my-filing-upheld = 异议成立
my-filing-dismissed = 异议不成立
my-filing-answer = 答复异议
my-filing-send-answer = 提交答复

# Editing, and the fingerprint manifest.
my-filing-application = 申请内容
my-filing-resubmit = 重新提交
my-filing-response = 补正说明（修改了哪些内容）
my-filing-save = 保存
my-filing-commitment = 数据指纹（内容承诺）
my-filing-fingerprint = 数据指纹
my-filing-fingerprint-lead = 在本机运行 dipr fingerprint --discovery-key …（数据不离开您的电脑），再选择生成的清单文件。
my-filing-no-fingerprint = 尚未提交数据指纹。
my-filing-current-commitment = 当前内容承诺：
my-filing-manifest-file = 选择清单文件（JSON）
my-filing-manifest-paste = 或粘贴清单内容
my-filing-file-fingerprint = 提交数据指纹

# Discarding, withdrawing, cancelling.
my-filing-discard = 丢弃草稿
my-filing-discard-warning = 草稿从未提交：丢弃后不再显示在您的列表中（操作记录保留），不影响以后就同一产品重新申请。
my-filing-withdraw-heading = 撤回申请
my-filing-withdraw-warning = 撤回后三个月内不得就同一产品重新申请。
my-filing-withdraw-reason = 撤回理由
my-filing-withdraw = 撤回
my-filing-cancel = 注销登记
my-filing-cancel-warning = 注销后证书失效并记入公开账本；已质押的产品须经全部质权人同意。
my-filing-cancel-reason = 注销理由

# Licences.
my-filing-licences = 许可
my-filing-licensee = 被许可人
my-filing-kind = 类型
my-filing-term = 期限
my-filing-fee = 许可费
my-filing-status = 状态
my-filing-actions = 操作
my-filing-licence-active = 有效
my-filing-licence-ended = 已终止
my-filing-end-licence = 终止许可 { $licensee }
my-filing-end = 终止
my-filing-add-licence = 登记新的许可
my-filing-lic-licensee = 被许可人统一社会信用代码 / 身份证号码
my-filing-lic-kind = 许可类型
my-filing-lic-start = 起始日（YYYY-MM-DD）
my-filing-lic-end = 终止日（YYYY-MM-DD）
my-filing-lic-territories = 地域（逗号分隔，空为不限）
my-filing-lic-scopes = 使用范围（逗号分隔，空为不限）
my-filing-lic-fee = 许可费（元，可不公开）
my-filing-grant-licence = 登记许可

# Transactions.
my-filing-transactions = 交易与收入
my-filing-transactions-lead = 金额计入公开统计；交易对方不公开。
my-filing-amount = 金额
my-filing-counterparty = 交易对方
my-filing-add-transaction = 登记一笔交易
my-filing-tx-amount = 金额（元）
my-filing-tx-date = 日期（YYYY-MM-DD）
my-filing-tx-licence = 对应许可（许可费）
my-filing-tx-no-licence = 无
my-filing-tx-note = 备注
my-filing-book = 登记交易
my-filing-tx-licence-fee = 许可费
my-filing-tx-trade = 交易
my-filing-tx-service-fee = 服务费
