// Reads a chosen certificate file into the form, so nothing but the form's text is sent.
(function () {
  var file = document.getElementById('file');
  var text = document.getElementById('certificate');
  if (!file || !text) return;
  file.addEventListener('change', function () {
    var f = file.files && file.files[0];
    if (!f) return;
    var reader = new FileReader();
    reader.onload = function () { text.value = String(reader.result); };
    reader.readAsText(f);
  });
})();
