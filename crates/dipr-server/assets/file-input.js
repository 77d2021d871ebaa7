// Reads a chosen file into the textarea its input names (data-fill), so only the form's text is sent
// and the file never needs a multipart upload. Without JavaScript, the text can be pasted instead.
(function () {
  var inputs = document.querySelectorAll('input[type=file][data-fill]');
  Array.prototype.forEach.call(inputs, function (file) {
    var text = document.getElementById(file.getAttribute('data-fill'));
    if (!text) return;
    file.addEventListener('change', function () {
      var f = file.files && file.files[0];
      if (!f) return;
      var reader = new FileReader();
      reader.onload = function () { text.value = String(reader.result); };
      reader.readAsText(f);
    });
  });
})();
