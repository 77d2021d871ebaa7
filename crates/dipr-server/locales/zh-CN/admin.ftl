# The administration page: users and roles, sign-in failures, industry codes, the holiday calendar, witnesses.
admin-title = 系统管理
admin-only-admins = 仅限系统管理员。
admin-calendar-warning-heading = 节假日日历尚未录入 { $year } 年
admin-calendar-warning-text = 期限落入 { $year } 年的，暂按周末规则（周一至周五为工作日）计算，并在显示该期限的页面上注明。国务院办公厅发布 { $year } 年节假日安排后，请尽快在下方录入。

# Users and roles.
admin-users = 用户与角色
admin-username = 用户名
admin-name = 名称
admin-role = 角色
admin-actions = 操作
admin-role-applicant = 申请人
admin-role-agent = 代理机构
admin-role-examiner = 审查员
admin-role-admin = 管理员
admin-role-bank = 银行
admin-enable = 启用
admin-disable = 停用
admin-disable-account = 确认停用
admin-disabled-tag = 已停用
admin-user-disabled = { $username } 已停用
admin-user-enabled = { $username } 已启用
admin-user-created = { $username } 已创建
admin-sign-in-failures = 登录失败（自本次启动）
admin-wrong-password = 密码或用户名错误
admin-throttled = 因过于频繁被拒
admin-failures = 失败次数
admin-last-failure = 最近一次
admin-new-account = 新建工作人员账号
admin-new-display-name = 姓名 / 名称
admin-new-password = 初始密码（至少 10 个字符）
admin-bank-note = 银行账号须填写银行的名称和统一社会信用代码：
admin-bank-name = 银行名称
admin-credit-code = 统一社会信用代码
admin-create-account = 创建账号

# Industry codes.
admin-industries = 行业代码
admin-code = 代码
admin-industry-zh-header = 中文
admin-industry-en-header = English
admin-active = 启用
admin-industry-code = 代码（小写字母、数字、下划线）
admin-industry-name-zh = 中文名称
admin-industry-name-en = English name
admin-save-industry = 保存行业
admin-saved = { $what } 已保存

# The working-day calendar.
admin-calendar = 节假日与调休
admin-day-date = 日期（YYYY-MM-DD）
admin-date = 日期
admin-kind = 类型
admin-note = 说明
admin-save = 保存
admin-holiday = 节假日
admin-workday = 调休上班

# Witnesses.
admin-witnesses = 见证人
admin-witnesses-lead = 见证人独立联署账本检查点；证书在联署数达到要求后附带联署。更改即时生效并记入事件日志。
admin-witness-url-header = URL
admin-remove = 移除
admin-witness-url = URL (https://…)
admin-witness-key = 见证人公钥（cosignature/v1）
admin-add-witness = 添加见证人
admin-quorum = 所需联署数（0 表示不等待联署）
admin-save-quorum = 保存所需联署数
admin-witnesses-saved = 见证人设置已保存
admin-reset-password = 重置密码
admin-reset-new-password = 新密码（用户首次登录时须修改）
admin-password-reset = 已重置 { $username } 的密码，其全部登录和令牌已失效；该用户下次登录时须修改密码。
