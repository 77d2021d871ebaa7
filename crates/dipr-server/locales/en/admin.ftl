# The administration page: users and roles, sign-in failures, industry codes, the holiday calendar, witnesses.
admin-title = Administration
admin-only-admins = Administrators only.
admin-calendar-warning-heading = The holiday calendar does not cover { $year } yet
admin-calendar-warning-text = Working-day deadlines that reach { $year } are counted by the weekend rule alone (Monday to Friday) and the pages showing them say so. Enter the State Council's { $year } holiday arrangement below as soon as it is published.

# Users and roles.
admin-users = Users and roles
admin-username = Username
admin-name = Name
admin-role = Role
admin-actions = Actions
admin-role-applicant = Applicant
admin-role-agent = Agent
admin-role-examiner = Examiner
admin-role-admin = Administrator
admin-role-bank = Bank
admin-enable = Enable
admin-disable = Disable
admin-disable-account = Disable the account
admin-disabled-tag = disabled
admin-user-disabled = { $username } disabled
admin-user-enabled = { $username } enabled
admin-user-created = { $username } created
admin-sign-in-failures = Failed sign-ins (since the server started)
admin-wrong-password = Wrong username or password
admin-throttled = refused as too frequent
admin-failures = Failures
admin-last-failure = Last
admin-new-account = Create a staff account
admin-new-display-name = Name
admin-new-password = Initial password (at least 10 characters)
admin-bank-note = A bank account names the bank and its credit code:
admin-bank-name = Bank's name
admin-credit-code = Credit code
admin-create-account = Create the account

# Industry codes.
admin-industries = Industry codes
admin-code = Code
admin-industry-zh-header = 中文
admin-industry-en-header = English
admin-active = Active
admin-industry-code = Code (a-z, 0-9, _)
admin-industry-name-zh = 中文名称
admin-industry-name-en = English name
admin-save-industry = Save the industry
admin-saved = { $what } saved

# The working-day calendar.
admin-calendar = Holidays and working weekends
admin-day-date = Date (YYYY-MM-DD)
admin-date = Date
admin-kind = Kind
admin-note = Note
admin-save = Save
admin-holiday = Holiday
admin-workday = Working day

# Witnesses.
admin-witnesses = Witnesses
admin-witnesses-lead = Witnesses cosign the log's checkpoints independently; certificates carry the cosignatures once a quorum has signed. Changes take effect at once and are logged.
admin-witness-url-header = URL
admin-remove = Remove
admin-witness-url = URL (https://…)
admin-witness-key = Witness key (cosignature/v1)
admin-add-witness = Add the witness
admin-quorum = Quorum (0: do not wait for cosignatures)
admin-save-quorum = Save the quorum
admin-witnesses-saved = Witnesses saved
admin-reset-password = Reset password
admin-reset-new-password = New password (to be changed at the next sign-in)
admin-password-reset = The password of { $username } was reset and all its sessions and tokens ended; the account must change it at its next sign-in.
