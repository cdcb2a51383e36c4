# otsweep Windows probe bundle, schema otscan.win/1 (PowerShell 2.0 - 5.1).
# Read-only and Constrained-Language-Mode safe: cmdlets, WMI through Get-WmiObject,
# registry reads, casts to primitive types, method calls on core types only, and the
# external tools whoami, secedit, auditpol, w32tm, netstat and wbadmin. The only
# writes are the secedit and auditpol export files in %TEMP%, deleted at once.
# The scanner wraps this text in one "& { ... }" block and substitutes only the
# nonce on the $N line. The file holds no blank line: with -Command - a blank line
# ends a multi-line statement. One NDJSON line per probe, keys sorted, ASCII only.
$ErrorActionPreference = 'Stop'
$ProgressPreference = 'SilentlyContinue'
$N = '__NONCE__'
$C = @{ procs = 0; svc = $null; pt = $null }
# Esc: JSON string literal; every character outside 0x20-0x7E becomes \uXXXX.
function Esc([string]$s) {
  $s = $s.Replace('\', '\\').Replace('"', '\"')
  if ($s -match '[^\x20-\x7e]') {
    $done = ''
    foreach ($m in [regex]::Matches($s, '[^\x20-\x7e]')) {
      $ch = $m.Value
      if (-not $done.Contains($ch)) { $done += $ch; $s = $s.Replace($ch, ('\u{0:x4}' -f [int][char]$ch)) }
    }
  }
  '"' + $s + '"'
}
# J: deterministic JSON. Object keys sorted by their lower-case form.
function J($v) {
  if ($null -eq $v) { return 'null' }
  if ($v -is [bool]) { if ($v) { return 'true' }; return 'false' }
  if ($v -is [string]) { return (Esc $v) }
  if ($v -is [char]) { return (Esc ([string]$v)) }
  if ($v -is [int] -or $v -is [long] -or $v -is [int16] -or $v -is [byte] -or $v -is [sbyte] -or $v -is [uint16] -or $v -is [uint32] -or $v -is [uint64]) { return [string]$v }
  if ($v -is [double] -or $v -is [single] -or $v -is [decimal]) {
    if ([double]::IsNaN([double]$v) -or [double]::IsInfinity([double]$v)) { return 'null' }
    return [string]$v
  }
  if ($v -is [datetime]) {
    $u = $v.ToUniversalTime()
    return (Esc ('{0:0000}-{1:00}-{2:00}T{3:00}:{4:00}:{5:00}Z' -f $u.Year, $u.Month, $u.Day, $u.Hour, $u.Minute, $u.Second))
  }
  if ($v -is [hashtable]) {
    $p = @()
    foreach ($k in @($v.Keys | Sort-Object { ([string]$_).ToLowerInvariant() })) { $p += ((Esc ([string]$k)) + ':' + (J $v[$k])) }
    return '{' + ($p -join ',') + '}'
  }
  if ($v -is [array]) {
    $p = @()
    foreach ($i in $v) { $p += (J $i) }
    return '[' + ($p -join ',') + ']'
  }
  return (Esc ([string]$v))
}
# P: run one probe in its own try/catch and emit its line at once.
function P([string]$id, [scriptblock]$sb) {
  $t0 = Get-Date
  $h = @{ id = $id }
  try { $h['data'] = (& $sb); $h['ok'] = $true }
  catch { $h['ok'] = $false; $h['err'] = [string]$_.Exception.Message }
  $h['ms'] = [int]((Get-Date) - $t0).TotalMilliseconds
  $line = $null
  try { $line = J $h }
  catch { $line = J @{ id = $id; ok = $false; ms = 0; err = ('E_EMIT: ' + [string]$_.Exception.Message) } }
  Write-Output $line
}
# Reg: named values of one registry key; an absent key or value is null, never 0.
function Reg([string]$path, [string[]]$names) {
  $o = @{}
  $p = $null
  try { $p = Get-ItemProperty -LiteralPath $path -ErrorAction SilentlyContinue } catch { $p = $null }
  foreach ($n in $names) { if ($null -ne $p) { $o[$n] = $p.$n } else { $o[$n] = $null } }
  $o
}
function NeedAdmin { if (-not $elev) { throw 'E_NOT_ELEVATED' } }
function Ns([string]$parent, [string]$name) {
  try { return ([bool](@(Get-WmiObject -Namespace $parent -Class __NAMESPACE -Filter ("Name='" + $name + "'") -ErrorAction SilentlyContinue).Count)) }
  catch { return $false }
}
function Services {
  if ($null -eq $C['svc']) {
    $C['svc'] = @(Get-WmiObject -Class Win32_Service | ForEach-Object { @{ name = $_.Name; display_name = $_.DisplayName; state = $_.State; start_mode = $_.StartMode; path = $_.PathName; start_name = $_.StartName } })
  }
  $C['svc']
}
function Svc([string]$n) {
  foreach ($s in @(Services)) { if ($s['name'] -eq $n) { return $s } }
  return $null
}
function UserSids {
  @(Get-ChildItem -LiteralPath 'Registry::HKEY_USERS' -ErrorAction SilentlyContinue | ForEach-Object { [string]$_.PSChildName } | Where-Object { $_ -match '^S-1-5-21-[0-9-]+$' })
}
function Lines($x) { if ($null -eq $x) { return '' }; [string]::Join("`n", [string[]]@($x)) }
# Arr: an array (never $null, never a one-element [null]) that survives function output.
function Arr($x) { if ($null -eq $x) { return ,@() }; return ,@($x) }
$elev = $false
try { $C['procs'] = $C['procs'] + 1; $elev = [bool](@(whoami.exe /groups) -match 'S-1-16-12288') } catch { $elev = $false }
Write-Output ('@@OTSCAN ' + $N + ' BEGIN schema=otscan.win/1')
P '_meta' {
  $now = Get-Date
  @{ ps = [string]$PSVersionTable.PSVersion; lang = [string]$ExecutionContext.SessionState.LanguageMode
     elevated = $elev; host = [string]$env:COMPUTERNAME; utc = $now; ps_arch = [string]$env:PROCESSOR_ARCHITECTURE
     tz_offset_min = [int]($now - $now.ToUniversalTime()).TotalMinutes }
}
P 'W01' {
  $os = Get-WmiObject -Class Win32_OperatingSystem
  $cs = Get-WmiObject -Class Win32_ComputerSystem
  $C['pt'] = $os.ProductType
  @{ caption = $os.Caption; version = $os.Version; build = $os.BuildNumber; product_type = $os.ProductType
     arch = $os.OSArchitecture; sp = $os.ServicePackMajorVersion; last_boot_dmtf = $os.LastBootUpTime
     install_dmtf = $os.InstallDate; system_drive = $os.SystemDrive; mui = (Arr $os.MUILanguages)
     domain = $cs.Domain; part_of_domain = $cs.PartOfDomain; domain_role = $cs.DomainRole
     cv = (Reg 'HKLM:\SOFTWARE\Microsoft\Windows NT\CurrentVersion' @('ProductName', 'EditionID', 'InstallationType', 'CurrentBuild', 'CurrentBuildNumber', 'UBR', 'ReleaseId', 'DisplayVersion', 'CurrentVersion', 'CSDVersion')) }
}
P 'W03' {
  $q = @(Get-WmiObject -Class Win32_QuickFixEngineering | ForEach-Object {
    $raw = $null
    foreach ($pd in $_.psbase.Properties) { if ($pd.Name -eq 'InstalledOn') { $raw = $pd.Value } }
    @{ id = $_.HotFixID; desc = $_.Description; installed_on = $raw; installed_by = $_.InstalledBy } })
  @{ hotfixes = $q }
}
P 'W09' {
  @{ accounts = @(Get-WmiObject -Class Win32_UserAccount -Filter "LocalAccount=True AND SID LIKE 'S-1-5-21-%-501'" | ForEach-Object { @{ name = $_.Name; domain = $_.Domain; sid = $_.SID; disabled = $_.Disabled } }) }
}
P 'W10' {
  @{ accounts = @(Get-WmiObject -Class Win32_UserAccount -Filter "LocalAccount=True AND SID LIKE 'S-1-5-21-%-500'" | ForEach-Object { @{ name = $_.Name; domain = $_.Domain; sid = $_.SID; disabled = $_.Disabled } }) }
}
P 'W11' {
  $g = @(Get-WmiObject -Class Win32_Group -Filter "LocalAccount=True AND SID='S-1-5-32-544'")
  if ($g.Count -eq 0) { return @{ group = $null; domain = $null; members = @() } }
  $gn = [string]$g[0].Name
  $gd = [string]$g[0].Domain
  $f = 'GroupComponent="Win32_Group.Domain=''' + $gd.Replace("'", "\'") + ''',Name=''' + $gn.Replace("'", "\'") + '''"'
  @{ group = $gn; domain = $gd; members = @(Get-WmiObject -Class Win32_GroupUser -Filter $f | ForEach-Object { [string]$_.PartComponent }) }
}
P 'W12' {
  @{ users = @(Get-WmiObject -Class Win32_UserAccount -Filter 'LocalAccount=True' | ForEach-Object {
    @{ name = $_.Name; sid = $_.SID; disabled = $_.Disabled; lockout = $_.Lockout; password_required = $_.PasswordRequired; password_expires = $_.PasswordExpires; password_changeable = $_.PasswordChangeable } }) }
}
P 'W13' {
  @{ local = (Reg 'HKLM:\SYSTEM\CurrentControlSet\Control\Terminal Server' @('fDenyTSConnections', 'fSingleSessionPerUser'))
     rdp_tcp = (Reg 'HKLM:\SYSTEM\CurrentControlSet\Control\Terminal Server\WinStations\RDP-Tcp' @('UserAuthentication', 'SecurityLayer', 'MinEncryptionLevel', 'PortNumber'))
     policy = (Reg 'HKLM:\SOFTWARE\Policies\Microsoft\Windows NT\Terminal Services' @('fDenyTSConnections', 'UserAuthentication', 'SecurityLayer', 'MinEncryptionLevel', 'fPromptForPassword', 'fEncryptRPCTraffic', 'MaxIdleTime', 'MaxDisconnectionTime')) }
}
P 'W14' {
  $cfg = $null
  if (Ns 'root\Microsoft\Windows' 'SMB') {
    $s = @(Get-WmiObject -Namespace 'root\Microsoft\Windows\SMB' -Class MSFT_SmbServerConfiguration -ErrorAction SilentlyContinue)
    if ($s.Count -gt 0) { $cfg = @{ EnableSMB1Protocol = $s[0].EnableSMB1Protocol; EnableSMB2Protocol = $s[0].EnableSMB2Protocol; EncryptData = $s[0].EncryptData; RejectUnencryptedAccess = $s[0].RejectUnencryptedAccess } }
  }
  @{ server = (Reg 'HKLM:\SYSTEM\CurrentControlSet\Services\LanmanServer\Parameters' @('SMB1', 'SMB2'))
     client = (Reg 'HKLM:\SYSTEM\CurrentControlSet\Services\mrxsmb10' @('Start'))
     client_present = [bool](Test-Path -LiteralPath 'HKLM:\SYSTEM\CurrentControlSet\Services\mrxsmb10')
     server_config = $cfg }
}
P 'W15' {
  @{ server = (Reg 'HKLM:\SYSTEM\CurrentControlSet\Services\LanmanServer\Parameters' @('RequireSecuritySignature', 'EnableSecuritySignature'))
     client = (Reg 'HKLM:\SYSTEM\CurrentControlSet\Services\LanmanWorkstation\Parameters' @('RequireSecuritySignature', 'EnableSecuritySignature', 'EnablePlainTextPassword')) }
}
P 'W16' {
  $o = @{}
  foreach ($pr in @(@{ n = 'domain'; p = 'DomainProfile'; l = 'DomainProfile' }, @{ n = 'private'; p = 'PrivateProfile'; l = 'StandardProfile' }, @{ n = 'public'; p = 'PublicProfile'; l = 'PublicProfile' })) {
    $o[$pr.n] = @{ policy = (Reg ('HKLM:\SOFTWARE\Policies\Microsoft\WindowsFirewall\' + $pr.p) @('EnableFirewall', 'DefaultInboundAction', 'DefaultOutboundAction'))
                   local = (Reg ('HKLM:\SYSTEM\CurrentControlSet\Services\SharedAccess\Parameters\FirewallPolicy\' + $pr.l) @('EnableFirewall', 'DefaultInboundAction', 'DefaultOutboundAction')) }
  }
  $o['service'] = (Svc 'MpsSvc')
  $o
}
P 'W17' {
  $d = @{ present = $false; status = $null; service = (Svc 'WinDefend')
          policy = (Reg 'HKLM:\SOFTWARE\Policies\Microsoft\Windows Defender' @('DisableAntiSpyware', 'DisableAntiVirus'))
          rtp_policy = (Reg 'HKLM:\SOFTWARE\Policies\Microsoft\Windows Defender\Real-Time Protection' @('DisableRealtimeMonitoring', 'DisableBehaviorMonitoring')) }
  if (Ns 'root\Microsoft\Windows' 'Defender') {
    $s = @(Get-WmiObject -Namespace 'root\Microsoft\Windows\Defender' -Class MSFT_MpComputerStatus -ErrorAction SilentlyContinue)
    if ($s.Count -gt 0) {
      $m = $s[0]
      $d['present'] = $true
      $d['status'] = @{ AMServiceEnabled = $m.AMServiceEnabled; AntivirusEnabled = $m.AntivirusEnabled; AntispywareEnabled = $m.AntispywareEnabled
        RealTimeProtectionEnabled = $m.RealTimeProtectionEnabled; BehaviorMonitorEnabled = $m.BehaviorMonitorEnabled; OnAccessProtectionEnabled = $m.OnAccessProtectionEnabled
        IoavProtectionEnabled = $m.IoavProtectionEnabled; NISEnabled = $m.NISEnabled; AntivirusSignatureAge = $m.AntivirusSignatureAge
        AntivirusSignatureLastUpdated = $m.AntivirusSignatureLastUpdated; AntivirusSignatureVersion = $m.AntivirusSignatureVersion
        AMProductVersion = $m.AMProductVersion; AMEngineVersion = $m.AMEngineVersion; AMRunningMode = $m.AMRunningMode; IsTamperProtected = $m.IsTamperProtected
        QuickScanAge = $m.QuickScanAge; FullScanAge = $m.FullScanAge }
    }
  }
  $d
}
P 'W18' {
  $present = Ns 'root' 'SecurityCenter2'
  $p = @()
  if ($present) {
    $p = @(Get-WmiObject -Namespace 'root\SecurityCenter2' -Class AntiVirusProduct -ErrorAction SilentlyContinue | ForEach-Object { @{ displayName = $_.displayName; productState = $_.productState; pathToSignedProductExe = $_.pathToSignedProductExe; timestamp = $_.timestamp; instanceGuid = $_.instanceGuid } })
  }
  @{ present = $present; products = $p }
}
P 'W19' {
  $re = '^(WinDefend|Sense|MsMpSvc|mfe|McAfee|Trellix|SepMasterService|ccSvcHst|ekrn|Sophos|AVP|klnagent|ntrtscan|TmListen|TMBMServer|CSFalconService|SentinelAgent|CylanceSvc|CbDefense|carbonblack|cyserver|bdservicehost|EPSecurityService|scsrvc|AppIDSvc)'
  @{ services = @(@(Services) | Where-Object { ($_['name'] -match $re) -or ($_['display_name'] -match 'Antivirus|Anti-Virus|Endpoint Protection|Endpoint Security|Defender Antivirus|Defender Advanced Threat|McAfee|Trellix|Symantec|Sophos|Kaspersky|Trend Micro|ESET|CrowdStrike|SentinelOne|Cylance|Carbon Black|Bitdefender|Application Control') }) }
}
P 'W20' {
  $o = @{}
  foreach ($c in @('Exe', 'Msi', 'Script', 'Dll', 'Appx')) {
    $k = 'HKLM:\SOFTWARE\Policies\Microsoft\Windows\SrpV2\' + $c
    $present = [bool](Test-Path -LiteralPath $k)
    $rules = 0
    if ($present) { $rules = @(Get-ChildItem -LiteralPath $k -ErrorAction SilentlyContinue).Count }
    $o[$c] = @{ present = $present; rules = $rules; mode = (Reg $k @('EnforcementMode'))['EnforcementMode'] }
  }
  @{ collections = $o; service = (Svc 'AppIDSvc') }
}
P 'W21' {
  $present = Ns 'root\Microsoft\Windows' 'DeviceGuard'
  $dg = $null
  if ($present) {
    $g = @(Get-WmiObject -Namespace 'root\Microsoft\Windows\DeviceGuard' -Class Win32_DeviceGuard -ErrorAction SilentlyContinue)
    if ($g.Count -gt 0) {
      $x = $g[0]
      $dg = @{ CodeIntegrityPolicyEnforcementStatus = $x.CodeIntegrityPolicyEnforcementStatus; UsermodeCodeIntegrityPolicyEnforcementStatus = $x.UsermodeCodeIntegrityPolicyEnforcementStatus
               VirtualizationBasedSecurityStatus = $x.VirtualizationBasedSecurityStatus; SecurityServicesRunning = (Arr $x.SecurityServicesRunning)
               SecurityServicesConfigured = (Arr $x.SecurityServicesConfigured); RequiredSecurityProperties = (Arr $x.RequiredSecurityProperties); AvailableSecurityProperties = (Arr $x.AvailableSecurityProperties) }
    }
  }
  @{ present = $present; device_guard = $dg }
}
P 'W22' {
  @{ usbstor = (Reg 'HKLM:\SYSTEM\CurrentControlSet\Services\USBSTOR' @('Start'))
     uaspstor = (Reg 'HKLM:\SYSTEM\CurrentControlSet\Services\UASPStor' @('Start'))
     wpdbusenum = (Reg 'HKLM:\SYSTEM\CurrentControlSet\Services\WpdBusEnum' @('Start'))
     policy = (Reg 'HKLM:\SOFTWARE\Policies\Microsoft\Windows\RemovableStorageDevices' @('Deny_All'))
     disk_policy = (Reg 'HKLM:\SOFTWARE\Policies\Microsoft\Windows\RemovableStorageDevices\{53f5630d-b6bf-11d0-94f2-00a0c91efb8b}' @('Deny_Read', 'Deny_Write')) }
}
P 'W23' {
  @{ explorer = (Reg 'HKLM:\SOFTWARE\Microsoft\Windows\CurrentVersion\Policies\Explorer' @('NoDriveTypeAutoRun', 'NoAutorun'))
     explorer_policy = (Reg 'HKLM:\SOFTWARE\Policies\Microsoft\Windows\Explorer' @('NoAutoplayfornonVolume')) }
}
P 'W25' {
  $o = @{}
  foreach ($l in @('Application', 'Security', 'System')) {
    $o[$l] = @{ policy = (Reg ('HKLM:\SOFTWARE\Policies\Microsoft\Windows\EventLog\' + $l) @('MaxSize', 'Retention'))
                local = (Reg ('HKLM:\SYSTEM\CurrentControlSet\Services\EventLog\' + $l) @('MaxSize', 'Retention')) }
  }
  $o
}
P 'W26' {
  $C['procs'] = $C['procs'] + 1
  $st = @(w32tm.exe /query /status)
  $rc = $LASTEXITCODE
  @{ params = (Reg 'HKLM:\SYSTEM\CurrentControlSet\Services\W32Time\Parameters' @('Type', 'NtpServer'))
     policy = (Reg 'HKLM:\SOFTWARE\Policies\Microsoft\W32Time\Parameters' @('Type', 'NtpServer'))
     ntp_client = (Reg 'HKLM:\SYSTEM\CurrentControlSet\Services\W32Time\TimeProviders\NtpClient' @('Enabled', 'SpecialPollInterval'))
     service = (Svc 'W32Time'); status_raw = (Lines $st); status_rc = $rc }
}
P 'W27' {
  $u = @()
  foreach ($sid in @(UserSids)) {
    $u += @{ sid = $sid
             policy = (Reg ('Registry::HKEY_USERS\' + $sid + '\Software\Policies\Microsoft\Windows\Control Panel\Desktop') @('ScreenSaveActive', 'ScreenSaverIsSecure', 'ScreenSaveTimeOut'))
             user = (Reg ('Registry::HKEY_USERS\' + $sid + '\Control Panel\Desktop') @('ScreenSaveActive', 'ScreenSaverIsSecure', 'ScreenSaveTimeOut')) }
  }
  @{ machine = (Reg 'HKLM:\SOFTWARE\Microsoft\Windows\CurrentVersion\Policies\System' @('InactivityTimeoutSecs')); users = $u }
}
P 'W28' {
  Reg 'HKLM:\SOFTWARE\Microsoft\Windows\CurrentVersion\Policies\System' @('LegalNoticeCaption', 'LegalNoticeText')
}
P 'W29' {
  NeedAdmin
  $present = Ns 'root\CIMV2\Security' 'MicrosoftVolumeEncryption'
  $v = @()
  if ($present) {
    $v = @(Get-WmiObject -Namespace 'root\CIMV2\Security\MicrosoftVolumeEncryption' -Class Win32_EncryptableVolume | ForEach-Object {
      @{ DriveLetter = $_.DriveLetter; ProtectionStatus = $_.ProtectionStatus; ConversionStatus = $_.ConversionStatus; EncryptionMethod = $_.EncryptionMethod; VolumeType = $_.VolumeType } })
  }
  @{ present = $present; system_drive = [string]$env:SystemDrive; volumes = $v }
}
P 'W30' {
  @{ services = @(Services) }
}
P 'W31' {
  $sys = Join-Path $env:windir 'System32'
  $files = @{ telnet = [bool](Test-Path -LiteralPath (Join-Path $sys 'telnet.exe')); tftp = [bool](Test-Path -LiteralPath (Join-Path $sys 'tftp.exe')) }
  $f = $null
  if ($elev) {
    $f = @(Get-WmiObject -Class Win32_OptionalFeature -Filter "Name='TelnetClient' OR Name='TFTP' OR Name='SMB1Protocol' OR Name='MicrosoftWindowsPowerShellV2' OR Name='MicrosoftWindowsPowerShellV2Root' OR Name='SimpleTCP' OR Name='TelnetServer' OR Name='IIS-FTPServer'" -ErrorAction SilentlyContinue | ForEach-Object { @{ name = $_.Name; state = $_.InstallState } })
  }
  @{ files = $files; features = $f }
}
P 'W33' {
  @{ dns_policy = (Reg 'HKLM:\SOFTWARE\Policies\Microsoft\Windows NT\DNSClient' @('EnableMulticast'))
     netbt = (Reg 'HKLM:\SYSTEM\CurrentControlSet\Services\NetBT\Parameters' @('NodeType', 'DhcpNodeType'))
     adapters = @(Get-WmiObject -Class Win32_NetworkAdapterConfiguration -Filter 'IPEnabled=True' | ForEach-Object { @{ description = $_.Description; setting_id = $_.SettingID; netbios = $_.TcpipNetbiosOptions } }) }
}
P 'W34' {
  $mk = 'HKLM:\SOFTWARE\Policies\Microsoft\Windows\PowerShell\ModuleLogging\ModuleNames'
  $names = @()
  if (Test-Path -LiteralPath $mk) { $names = (Arr (Get-Item -LiteralPath $mk).Property) }
  @{ version = [string]$PSVersionTable.PSVersion
     script_block_logging = (Reg 'HKLM:\SOFTWARE\Policies\Microsoft\Windows\PowerShell\ScriptBlockLogging' @('EnableScriptBlockLogging', 'EnableScriptBlockInvocationLogging'))
     module_logging = (Reg 'HKLM:\SOFTWARE\Policies\Microsoft\Windows\PowerShell\ModuleLogging' @('EnableModuleLogging'))
     module_names = $names
     transcription = (Reg 'HKLM:\SOFTWARE\Policies\Microsoft\Windows\PowerShell\Transcription' @('EnableTranscripting', 'OutputDirectory', 'EnableInvocationHeader'))
     engine_v2 = (Reg 'HKLM:\SOFTWARE\Microsoft\PowerShell\1\PowerShellEngine' @('PowerShellVersion'))
     engine_v3 = (Reg 'HKLM:\SOFTWARE\Microsoft\PowerShell\3\PowerShellEngine' @('PowerShellVersion')) }
}
P 'W35' {
  @{ lsa = (Reg 'HKLM:\SYSTEM\CurrentControlSet\Control\Lsa' @('RunAsPPL', 'LsaCfgFlags'))
     policy = (Reg 'HKLM:\SOFTWARE\Policies\Microsoft\Windows\System' @('RunAsPPL'))
     wdigest = (Reg 'HKLM:\SYSTEM\CurrentControlSet\Control\SecurityProviders\WDigest' @('UseLogonCredential')) }
}
P 'W36' {
  Reg 'HKLM:\SOFTWARE\Microsoft\Windows\CurrentVersion\Policies\System' @('EnableLUA', 'ConsentPromptBehaviorAdmin', 'ConsentPromptBehaviorUser', 'FilterAdministratorToken', 'LocalAccountTokenFilterPolicy', 'PromptOnSecureDesktop')
}
P 'W37' {
  @{ lsa = (Reg 'HKLM:\SYSTEM\CurrentControlSet\Control\Lsa' @('LmCompatibilityLevel', 'NoLMHash'))
     msv1_0 = (Reg 'HKLM:\SYSTEM\CurrentControlSet\Control\Lsa\MSV1_0' @('NTLMMinClientSec', 'NTLMMinServerSec', 'RestrictSendingNTLMTraffic')) }
}
P 'W39' {
  @{ service_policy = (Reg 'HKLM:\SOFTWARE\Policies\Microsoft\Windows\WinRM\Service' @('AllowBasic', 'AllowUnencryptedTraffic', 'DisableRunAs', 'AllowCredSSP'))
     client_policy = (Reg 'HKLM:\SOFTWARE\Policies\Microsoft\Windows\WinRM\Client' @('AllowBasic', 'AllowUnencryptedTraffic', 'AllowDigest', 'AllowCredSSP'))
     service_local = (Reg 'HKLM:\SOFTWARE\Microsoft\Windows\CurrentVersion\WSMAN\Service' @('allow_unencrypted', 'auth_basic', 'auth_credssp'))
     client_local = (Reg 'HKLM:\SOFTWARE\Microsoft\Windows\CurrentVersion\WSMAN\Client' @('allow_unencrypted', 'auth_basic', 'auth_digest', 'auth_credssp'))
     listeners = @(Get-ChildItem -LiteralPath 'HKLM:\SOFTWARE\Microsoft\Windows\CurrentVersion\WSMAN\Listener' -ErrorAction SilentlyContinue | ForEach-Object { [string]$_.PSChildName })
     service = (Svc 'WinRM') }
}
P 'W40' {
  @{ shares = @(Get-WmiObject -Class Win32_Share | ForEach-Object { @{ name = $_.Name; path = $_.Path; type = $_.Type; description = $_.Description } })
     lsa = (Reg 'HKLM:\SYSTEM\CurrentControlSet\Control\Lsa' @('RestrictAnonymous', 'RestrictAnonymousSAM', 'EveryoneIncludesAnonymous'))
     server = (Reg 'HKLM:\SYSTEM\CurrentControlSet\Services\LanmanServer\Parameters' @('RestrictNullSessAccess', 'NullSessionShares', 'NullSessionPipes')) }
}
P 'W06' {
  NeedAdmin
  $f = Join-Path $env:TEMP ('otscan_' + $N + '.inf')
  $raw = $null
  $C['procs'] = $C['procs'] + 1
  try {
    $null = @(secedit.exe /export /cfg $f /areas SECURITYPOLICY /quiet)
    $rc = $LASTEXITCODE
    if (Test-Path -LiteralPath $f) { $raw = Lines (Get-Content -LiteralPath $f -Encoding Unicode) }
  }
  finally { Remove-Item -LiteralPath $f -Force -ErrorAction SilentlyContinue }
  @{ rc = $rc; raw = $raw }
}
P 'W41' {
  $pt = $C['pt']
  if ($null -eq $pt) { $pt = (Get-WmiObject -Class Win32_OperatingSystem).ProductType }
  if ($pt -ne 2) { return @{ dc = $false } }
  $env:ADPS_LoadDefaultDrive = '0'
  $dp = $null
  $fg = $null
  $derr = $null
  $ferr = $null
  try { Import-Module ActiveDirectory -ErrorAction Stop }
  catch { $derr = [string]$_.Exception.Message; $ferr = $derr }
  if ($null -eq $derr) {
    try {
      $d = Get-ADDefaultDomainPasswordPolicy
      $dp = @{ min_length = $d.MinPasswordLength; history = $d.PasswordHistoryCount; complexity = $d.ComplexityEnabled; reversible = $d.ReversibleEncryptionEnabled
               max_age_days = [int]$d.MaxPasswordAge.TotalDays; min_age_days = [int]$d.MinPasswordAge.TotalDays; lockout_threshold = $d.LockoutThreshold
               lockout_duration_min = [int]$d.LockoutDuration.TotalMinutes; lockout_window_min = [int]$d.LockoutObservationWindow.TotalMinutes }
    }
    catch { $derr = [string]$_.Exception.Message }
    try {
      $fg = @(Get-ADFineGrainedPasswordPolicy -Filter '*' | ForEach-Object {
        @{ name = $_.Name; precedence = $_.Precedence; min_length = $_.MinPasswordLength; history = $_.PasswordHistoryCount; complexity = $_.ComplexityEnabled
           reversible = $_.ReversibleEncryptionEnabled; max_age_days = [int]$_.MaxPasswordAge.TotalDays; min_age_days = [int]$_.MinPasswordAge.TotalDays
           lockout_threshold = $_.LockoutThreshold; lockout_duration_min = [int]$_.LockoutDuration.TotalMinutes; lockout_window_min = [int]$_.LockoutObservationWindow.TotalMinutes
           applies_to = (Arr $_.AppliesTo) } })
    }
    catch { $fg = $null; $ferr = [string]$_.Exception.Message }
  }
  @{ dc = $true; default_policy = $dp; default_error = $derr; fgpp = $fg; fgpp_error = $ferr }
}
P 'W05' {
  $roots = @(@{ path = 'HKLM:\SOFTWARE\Microsoft\Windows\CurrentVersion\Uninstall'; scope = 'machine' }, @{ path = 'HKLM:\SOFTWARE\Wow6432Node\Microsoft\Windows\CurrentVersion\Uninstall'; scope = 'machine-x86' })
  foreach ($sid in @(UserSids)) { $roots += @{ path = ('Registry::HKEY_USERS\' + $sid + '\Software\Microsoft\Windows\CurrentVersion\Uninstall'); scope = ('user:' + $sid) } }
  $items = @()
  foreach ($r in $roots) {
    if (Test-Path -LiteralPath $r.path) {
      foreach ($p in @(Get-ItemProperty -Path ($r.path + '\*') -ErrorAction SilentlyContinue)) {
        if ($p.DisplayName) {
          $items += @{ name = $p.DisplayName; version = $p.DisplayVersion; publisher = $p.Publisher; install_date = $p.InstallDate; system_component = $p.SystemComponent; key = [string]$p.PSChildName; scope = $r.scope }
        }
      }
    }
  }
  @{ items = $items }
}
P 'W24' {
  NeedAdmin
  $f = Join-Path $env:TEMP ('otscan_' + $N + '.csv')
  $raw = $null
  $fmt = 'backup'
  $C['procs'] = $C['procs'] + 1
  try {
    $null = @(auditpol.exe /backup ('/file:' + $f))
    $rc = $LASTEXITCODE
    if (Test-Path -LiteralPath $f) { $raw = Lines (Get-Content -LiteralPath $f) }
  }
  finally { Remove-Item -LiteralPath $f -Force -ErrorAction SilentlyContinue }
  if ($null -eq $raw -or $raw -eq '') {
    $C['procs'] = $C['procs'] + 1
    $fmt = 'r'
    $raw = Lines (auditpol.exe /get /category:* /r)
    $rc = $LASTEXITCODE
  }
  @{ format = $fmt; rc = $rc; raw = $raw; lsa = (Reg 'HKLM:\SYSTEM\CurrentControlSet\Control\Lsa' @('SCENoApplyLegacyAuditPolicy')) }
}
P 'W32' {
  $C['procs'] = $C['procs'] + 1
  $ns = @(netstat.exe -ano)
  $rc = $LASTEXITCODE
  @{ raw = (Lines $ns); rc = $rc; processes = @(Get-WmiObject -Class Win32_Process -Property @('ProcessId', 'Name') | ForEach-Object { @{ pid = $_.ProcessId; name = $_.Name } }) }
}
P 'W38' {
  NeedAdmin
  $exe = Join-Path $env:windir 'System32\wbadmin.exe'
  if (-not (Test-Path -LiteralPath $exe)) { return @{ present = $false; raw = $null; rc = $null } }
  $C['procs'] = $C['procs'] + 1
  $o = @(& $exe get versions)
  @{ present = $true; raw = (Lines $o); rc = $LASTEXITCODE }
}
P '_end' {
  $cpu = $null
  try { $cpu = [int](Get-Process -Id $PID).TotalProcessorTime.TotalMilliseconds } catch { $cpu = $null }
  @{ cpu_ms = $cpu; procs = $C['procs'] }
}
Write-Output ('@@OTSCAN ' + $N + ' END')
