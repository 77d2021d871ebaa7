# Sign-up and the filing form (/signup, /me/file); the form's fields are shared with a filing's page.
signup-title = 注册
signup-heading = 注册申请人账号
signup-username = 用户名
signup-password = 密码（至少 10 个字符）
signup-display-name = 联系人姓名
signup-button = 注册
signup-expired = 表单已过期，请重新提交。

# The applicant: who signs up, or whom an agent files for.
filing-applicant-kind = 申请人类型
filing-applicant-name = 申请人名称
filing-applicant-id = 统一社会信用代码 / 身份证号码
filing-party-legal-person = 法人（企业、高校、科研院所）
filing-party-unincorporated = 非法人组织
filing-party-natural-person = 自然人

filing-title = 提交申请
filing-heading = 提交登记申请
filing-lead = 数据本身不上传：只填写说明、脱敏样例。保存草稿后可上传 dipr fingerprint 生成的数据指纹清单。
filing-applicant-legend = 委托人（申请人）
filing-submit = 提交申请
filing-save-draft = 保存草稿

# The application form's fields.
filing-choose = 请选择
filing-product-name = 产品名称
filing-object-type = 登记对象
filing-industry = 行业领域
filing-scenarios = 应用场景（逗号分隔）
filing-summary = 简介（公开）
filing-source-kind = 数据来源
filing-source-self-collected = 自行采集
filing-source-licensed = 授权或购买
filing-source-public-data = 授权使用的公共数据
filing-source-description = 来源说明
filing-source-counterparty = 许可方或授权单位（来源为授权或购买时必填；公共数据填写授权单位）
filing-source-contract-ref = 许可合同或授权文件编号
filing-source-licence-end = 许可期限截止日（证书有效期不超过此日）
filing-legality-statement = 合法性说明
filing-no-infringement = 承诺不侵犯个人信息及第三方知识产权
filing-processing = 加工规则 / 算法说明
filing-structure = 数据结构（每行一个字段：名称:类型）
filing-format = 数据格式
filing-update-frequency = 更新频率
filing-frequency-one-off = 一次性
filing-frequency-real-time = 实时
filing-frequency-daily = 每日
filing-frequency-weekly = 每周
filing-frequency-monthly = 每月
filing-frequency-quarterly = 每季度
filing-frequency-yearly = 每年
filing-frequency-irregular = 不定期
filing-secrecy-measures = 保密措施
filing-samples = 脱敏样例（每行一条）
filing-contact-name = 联系人
filing-contact-phone = 电话
filing-contact-email = 电子邮箱
